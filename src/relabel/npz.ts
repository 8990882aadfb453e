import { closeSync, openSync, readSync, writeSync, unlinkSync, fstatSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { RewarddError } from '../core/errors.js';

/**
 * NumPy .npz files (a zip of .npy arrays, stored uncompressed), written with
 * bounded memory: rows are appended to one temporary file per array while
 * episodes stream by, and the zip is assembled at the end. `numpy.load`
 * reads the result; so does readNpz below (tests, tools).
 *
 * Bound: the archive must stay under 4 GiB (no ZIP64); larger exports fail
 * with E_CONFIG, to be split with --episodes.
 */
/**
 * Every entry's modification date: 1980-01-01 00:00, the earliest a ZIP can say, fixed so the same
 * export gives the same bytes. A zero date field reads as 1980-00-00, which is no date (zipfile and
 * unzip showed it as such).
 */
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;

export type NpyDtype = '<f4' | '<f8' | '<i8' | '<i4' | '<u4' | '<u2' | '|u1' | '|b1';
const BYTES: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '<i8': 8, '<i4': 4, '<u4': 4, '<u2': 2, '|u1': 1, '|b1': 1 };
const ZIP_LIMIT = 0xffff_ffff - 1024 * 1024;

interface Column {
  name: string;
  dtype: NpyDtype;
  /** Values per row; 0 for a 1-D array. */
  width: number;
  tmp: string;
  fd: number;
  rows: number;
}

export function npyHeader(dtype: NpyDtype, shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${dims}, }`;
  // magic(6) + version(2) + len(2) + dict + '\n' is padded to a multiple of 64 (numpy's alignment).
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

export class NpzWriter {
  private readonly cols = new Map<string, Column>();
  private readonly extras: Array<{ name: string; data: Uint8Array }> = [];
  private bytes = 0;

  constructor(private readonly path: string) {}

  /** Declares an array: `width` 0 for one value per row, else values per row. */
  column(name: string, dtype: NpyDtype, width: number): void {
    if (this.cols.has(name)) throw new RewarddError('E_CONFIG', `npz: column ${name} declared twice`);
    const tmp = `${this.path}.${name}.${process.pid}.tmp`;
    this.cols.set(name, { name, dtype, width, tmp, fd: openSync(tmp, 'w+'), rows: 0 });
  }

  /** Appends rows (values.length must be rows × max(width, 1)). */
  append(name: string, values: ArrayBufferView, rows: number): void {
    const c = this.cols.get(name);
    if (!c) throw new RewarddError('E_CONFIG', `npz: column ${name} was not declared`);
    const expect = rows * Math.max(c.width, 1) * BYTES[c.dtype];
    if (values.byteLength !== expect) throw new RewarddError('E_CONFIG', `npz: column ${name}: expected ${expect} bytes for ${rows} rows, found ${values.byteLength}`);
    this.bytes += expect;
    if (this.bytes > ZIP_LIMIT) throw new RewarddError('E_CONFIG', `npz: expected under 4 GiB of arrays, found more; export fewer episodes at a time (--episodes)`);
    writeSync(c.fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    c.rows += rows;
  }

  /** A non-array member (numpy returns its bytes). */
  file(name: string, data: Uint8Array): void {
    this.extras.push({ name, data });
  }

  /** Writes the zip and removes the temporary files. */
  close(): void {
    const out = openSync(this.path, 'w');
    const central: Uint8Array[] = [];
    let at = 0;
    const put = (b: Uint8Array): void => {
      writeSync(out, b, 0, b.length, at);
      at += b.length;
    };
    const member = (name: string, head: Uint8Array, body: (sink: (b: Uint8Array) => void) => void): void => {
      const nameBytes = new TextEncoder().encode(name);
      const offset = at;
      put(new Uint8Array(30 + nameBytes.length)); // local header, patched below
      let crc = 0;
      let size = 0;
      const sink = (b: Uint8Array): void => {
        crc = crc32(b, crc);
        size += b.length;
        put(b);
      };
      sink(head);
      body(sink);
      const lh = new DataView(new ArrayBuffer(30));
      lh.setUint32(0, 0x04034b50, true);
      lh.setUint16(4, 20, true);
      lh.setUint16(12, DOS_DATE_1980_01_01, true);
      lh.setUint32(14, crc >>> 0, true);
      lh.setUint32(18, size, true);
      lh.setUint32(22, size, true);
      lh.setUint16(26, nameBytes.length, true);
      const local = new Uint8Array(30 + nameBytes.length);
      local.set(new Uint8Array(lh.buffer), 0);
      local.set(nameBytes, 30);
      writeSync(out, local, 0, local.length, offset);
      const ch = new DataView(new ArrayBuffer(46));
      ch.setUint32(0, 0x02014b50, true);
      ch.setUint16(4, 20, true);
      ch.setUint16(6, 20, true);
      ch.setUint16(14, DOS_DATE_1980_01_01, true);
      ch.setUint32(16, crc >>> 0, true);
      ch.setUint32(20, size, true);
      ch.setUint32(24, size, true);
      ch.setUint16(28, nameBytes.length, true);
      ch.setUint32(42, offset, true);
      const cen = new Uint8Array(46 + nameBytes.length);
      cen.set(new Uint8Array(ch.buffer), 0);
      cen.set(nameBytes, 46);
      central.push(cen);
    };
    try {
      const chunk = new Uint8Array(1 << 20);
      for (const c of this.cols.values()) {
        const shape = c.width === 0 ? [c.rows] : [c.rows, c.width];
        member(`${c.name}.npy`, npyHeader(c.dtype, shape), (sink) => {
          const size = fstatSync(c.fd).size;
          for (let pos = 0; pos < size; ) {
            const n = readSync(c.fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
            sink(chunk.subarray(0, n));
            pos += n;
          }
        });
      }
      for (const e of this.extras) member(e.name, new Uint8Array(0), (sink) => sink(e.data));
      const cdStart = at;
      for (const c of central) put(c);
      const end = new DataView(new ArrayBuffer(22));
      end.setUint32(0, 0x06054b50, true);
      end.setUint16(8, central.length, true);
      end.setUint16(10, central.length, true);
      end.setUint32(12, at - cdStart, true);
      end.setUint32(16, cdStart, true);
      put(new Uint8Array(end.buffer));
    } finally {
      closeSync(out);
      this.discard();
    }
  }

  /** Removes the temporary files without writing the archive. */
  discard(): void {
    for (const c of this.cols.values()) {
      try {
        closeSync(c.fd);
      } catch {
        /* already closed */
      }
      try {
        unlinkSync(c.tmp);
      } catch {
        /* already gone */
      }
    }
    this.cols.clear();
  }
}

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
}

/** Reads an uncompressed .npz (as NpzWriter writes it): arrays by name (without .npy), other members as bytes. */
export function readNpz(path: string): { arrays: Map<string, NpyArray>; files: Map<string, Uint8Array> } {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const eocd = buf.length - 22;
  if (dv.getUint32(eocd, true) !== 0x06054b50) throw new RewarddError('E_FILE', `${path}: expected a zip end record, found none`);
  const n = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const arrays = new Map<string, NpyArray>();
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) {
    const size = dv.getUint32(p + 20, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const off = dv.getUint32(p + 42, true);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    const dataAt = off + 30 + dv.getUint16(off + 26, true) + dv.getUint16(off + 28, true);
    const body = new Uint8Array(buf.subarray(dataAt, dataAt + size)); // copy: aligned for typed views
    if (!name.endsWith('.npy')) {
      files.set(name, body);
      continue;
    }
    const hl = body[8]! | (body[9]! << 8);
    const header = new TextDecoder().decode(body.subarray(10, 10 + hl));
    const dtype = /'descr': '([^']+)'/.exec(header)?.[1] ?? '';
    const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
    const raw = body.buffer.slice(10 + hl);
    const data =
      dtype === '<f4' ? new Float32Array(raw) : dtype === '<f8' ? new Float64Array(raw) : dtype === '<i8' ? new BigInt64Array(raw) : dtype === '<i4' ? new Int32Array(raw)
        : dtype === '<u4' ? new Uint32Array(raw) : dtype === '<u2' ? new Uint16Array(raw) : new Uint8Array(raw);
    arrays.set(name.slice(0, -4), { dtype, shape, data });
  }
  return { arrays, files };
}
