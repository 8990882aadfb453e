import { writeAckMark } from './recovery.js';

/**
 * The persisted "everything up to id N is acknowledged" mark, written at most
 * once per `debounceMs` (write + rename, one write at a time). Between writes a
 * crash replays a few acknowledged records; subscribers de-duplicate them.
 */
export class AckMark {
  private target: number;
  private written: number;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly dir: string, initial: number, private readonly debounceMs: number, private readonly onError: () => void) {
    this.target = initial;
    this.written = initial;
  }

  set(id: number): void {
    this.target = id;
    if (this.timer || this.target === this.written) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.debounceMs);
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.target === this.written) return;
    const id = this.target;
    this.writing = writeAckMark(this.dir, id).then(
      () => void (this.written = id),
      () => this.onError(),
    );
    await this.writing;
    this.writing = undefined;
  }
}
