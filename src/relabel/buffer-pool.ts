/**
 * Grow-only buffers, one per name, reused episode after episode by a relabel
 * worker: an episode's columns are read into them and its results computed in
 * them, so a warm worker allocates (and page-faults) nothing per episode.
 * Fresh memory is what made reading slow: the first touch of each new page
 * costs more than copying the data into it (docs/relabel.md).
 *
 * Bound: per name, the largest request so far, rounded up by half again; in
 * all, about the bytes of the longest episode's columns and results.
 * A view handed out is valid until the same name is taken again.
 */
export class BufferPool {
  private readonly buffers = new Map<string, ArrayBuffer>();

  /** `bytes` bytes (8-aligned start) under `name`, contents unspecified. */
  bytes(name: string, bytes: number): Uint8Array {
    let b = this.buffers.get(name);
    if (!b || b.byteLength < bytes) {
      b = new ArrayBuffer(Math.ceil((Math.max(bytes, (b?.byteLength ?? 0) * 1.5) + 7) / 8) * 8);
      this.buffers.set(name, b);
    }
    return new Uint8Array(b, 0, bytes);
  }

  f32(name: string, n: number): Float32Array {
    return new Float32Array(this.bytes(name, n * 4).buffer, 0, n);
  }
  f64(name: string, n: number): Float64Array {
    return new Float64Array(this.bytes(name, n * 8).buffer, 0, n);
  }
  u8(name: string, n: number): Uint8Array {
    return this.bytes(name, n);
  }
  u16(name: string, n: number): Uint16Array {
    return new Uint16Array(this.bytes(name, n * 2).buffer, 0, n);
  }
  u32(name: string, n: number): Uint32Array {
    return new Uint32Array(this.bytes(name, n * 4).buffer, 0, n);
  }
  i64(name: string, n: number): BigInt64Array {
    return new BigInt64Array(this.bytes(name, n * 8).buffer, 0, n);
  }

  /** Bytes held, for the docs' memory figure and tests. */
  get held(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.byteLength;
    return n;
  }
}

/** Allocates fresh arrays: the same interface as BufferPool for callers that keep what they get. */
export const freshArrays = {
  f32: (_: string, n: number) => new Float32Array(n),
  f64: (_: string, n: number) => new Float64Array(n),
  u8: (_: string, n: number) => new Uint8Array(n),
  u16: (_: string, n: number) => new Uint16Array(n),
  u32: (_: string, n: number) => new Uint32Array(n),
  i64: (_: string, n: number) => new BigInt64Array(n),
};
export type ArraySource = Pick<BufferPool, 'f32' | 'f64' | 'u8' | 'u16' | 'u32' | 'i64'>;
