import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * Appending a list of buffers completely. A writev may write less than it was given without an
 * error (a signal, or a disk that is filling up: the next call then fails with ENOSPC); treating
 * that count as the whole write loses the rest and puts every later offset out of step with the
 * file. These loops continue where the last call stopped and throw the error that ends them.
 */

/** The buffers of `iov` after its first `skip` bytes (the rest are views, not copies). */
export function remainingIov(iov: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of iov) {
    if (skip >= b.byteLength) skip -= b.byteLength;
    else (out.push(skip > 0 ? b.subarray(skip) : b), (skip = 0));
  }
  return out;
}

/** Shaped like the system error it stands for (code, syscall), so callers treat it as the disk's trouble, which may pass. */
const noProgress = (written: number, bytes: number): Error =>
  Object.assign(new Error(`EIO: writev wrote nothing (${written} of ${bytes} bytes written)`), { code: 'EIO', syscall: 'writev' });

const total = (iov: readonly Uint8Array[]): number => iov.reduce((n, b) => n + b.byteLength, 0);

export function writevAllSync(fd: number, iov: readonly Uint8Array[]): void {
  const bytes = total(iov);
  for (let written = 0; written < bytes; ) {
    const n = writevSync(fd, written === 0 ? (iov as Uint8Array[]) : remainingIov(iov, written));
    if (n === 0) throw noProgress(written, bytes);
    written += n;
  }
}

export async function writevAll(fh: FileHandle, iov: readonly Uint8Array[]): Promise<void> {
  const bytes = total(iov);
  for (let written = 0; written < bytes; ) {
    const { bytesWritten } = await fh.writev(written === 0 ? (iov as Uint8Array[]) : remainingIov(iov, written));
    if (bytesWritten === 0) throw noProgress(written, bytes);
    written += bytesWritten;
  }
}
