import type { Mailbox } from '../core/mailbox.js';
import type { CameraSpec } from './camera-spec.js';
import type { Frame } from './frame.js';
import type { FrameSource, SourceCounters } from './frame-source.js';
import { renderScene, sceneFrom, SCENE_SIZE } from './sim-camera.js';

/**
 * The simulator's camera: renders the scene the control thread last published
 * when the encoder asks, stamped with that tick's time (so a stalled control
 * thread shows as an ageing frame, like a frozen camera would).
 */
export class SimSource implements FrameSource {
  readonly kind = 'sim';
  private readonly v = new Float64Array(SCENE_SIZE);
  private seq = 0;
  private lastCount = 0;
  private readonly c: SourceCounters = { received: 0, dropped: 0, garbage: 0, restarts: 0 };
  readonly lastError = '';

  constructor(private readonly cam: CameraSpec, private readonly scene: Mailbox) {}

  take(): Frame | null {
    const n = this.scene.count();
    if (n === this.lastCount || !this.scene.read(this.v)) return null; // no new pose: nothing new to see
    this.lastCount = n;
    this.c.received++;
    const rgb = renderScene(sceneFrom(this.v), this.cam.width, this.cam.height);
    return { seq: ++this.seq, tNs: BigInt(Math.round(this.scene.lastTNs)), width: this.cam.width, height: this.cam.height, rgb };
  }

  counters(): SourceCounters {
    return { ...this.c };
  }

  async close(): Promise<void> {}
}
