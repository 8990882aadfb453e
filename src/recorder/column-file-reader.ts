import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  COLUMN_FILE_MAGIC, COLUMN_FILE_SCHEMA, COLUMN_SPECS, HEAD_BYTES, TAIL_BYTES, TYPE_BYTES, ColumnFileUnusable,
  type ColumnFileFooter, type ColumnName, type NumericColumn,
} from './column-file.js';

/**
 * Reads a columns file (column-file.ts): the footer once, then each column a
 * caller asks for with one positional read per block straight into the
 * caller's array (no intermediate buffer, no decoding), checking each chunk's
 * CRC-32. Anything that does not add up is ColumnFileUnusable('damaged'); a
 * file whose MCAP original changed since is ColumnFileUnusable('stale').
 */
export interface OpenColumnFile {
  path: string;
  fd: number;
  footer: ColumnFileFooter;
}

/** Bound on the footer (JSON of block offsets, segments and the start record): 64 MiB. */
const MAX_FOOTER_BYTES = 64 * 1024 * 1024;
const td = new TextDecoder();

export function openColumnFile(path: string): OpenColumnFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ColumnFileUnusable(code === 'ENOENT' ? 'missing' : 'damaged', `${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return { path, fd, footer: readFooter(path, fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function closeColumnFile(f: OpenColumnFile): void {
  closeSync(f.fd);
}

function readFooter(path: string, fd: number): ColumnFileFooter {
  const bad = (why: string): never => {
    throw new ColumnFileUnusable('damaged', `${path}: ${why}`);
  };
  const size = fstatSync(fd).size;
  if (size < HEAD_BYTES + TAIL_BYTES) bad(`expected at least ${HEAD_BYTES + TAIL_BYTES} bytes, found ${size}`);
  const head = new Uint8Array(HEAD_BYTES);
  readSync(fd, head, 0, HEAD_BYTES, 0);
  const tail = new Uint8Array(TAIL_BYTES);
  readSync(fd, tail, 0, TAIL_BYTES, size - TAIL_BYTES);
  if (td.decode(head.subarray(0, 4)) !== COLUMN_FILE_MAGIC || td.decode(tail.subarray(12)) !== COLUMN_FILE_MAGIC) bad(`expected "${COLUMN_FILE_MAGIC}" at both ends, found something else (truncated or not a columns file)`);
  const v = new DataView(tail.buffer);
  const len = v.getUint32(0, true);
  if (len > MAX_FOOTER_BYTES || len > size - HEAD_BYTES - TAIL_BYTES) bad(`footer length ${len} does not fit the ${size}-byte file`);
  const body = new Uint8Array(len);
  readSync(fd, body, 0, len, size - TAIL_BYTES - len);
  if ((crc32(body) >>> 0) !== v.getUint32(4, true)) bad('footer CRC mismatch');
  let footer: ColumnFileFooter;
  try {
    footer = JSON.parse(td.decode(body)) as ColumnFileFooter;
  } catch (e) {
    return bad(`footer is not JSON: ${(e as Error).message}`);
  }
  if (footer.schema !== COLUMN_FILE_SCHEMA) bad(`expected schema ${COLUMN_FILE_SCHEMA}, found ${String(footer.schema)}`);
  checkLayout(footer, size - TAIL_BYTES - len, bad);
  return footer;
}

/** The footer's numbers must describe exactly `count` rows in chunks that lie inside the data area. */
function checkLayout(f: ColumnFileFooter, dataEnd: number, bad: (why: string) => never): void {
  const rows = f.blocks.reduce((a, b) => a + b.rows, 0);
  if (rows !== f.count) bad(`blocks hold ${rows} rows, expected ${f.count}`);
  let at = 0;
  for (const s of f.segments) {
    if (s.from !== at || s.to < s.from) bad(`reward segments do not cover rows 0..${f.count} in order`);
    at = s.to;
  }
  if (at !== f.count) bad(`reward segments cover ${at} rows, expected ${f.count}`);
  const expected = (name: NumericColumn, rowsIn: number): number => {
    const spec = COLUMN_SPECS.find((c) => c.name === name)!;
    const w = spec.width === 'one' ? 1 : spec.width === 'obs' ? f.observationNames.length : f.actionNames.length;
    return rowsIn * w * TYPE_BYTES[spec.type];
  };
  for (const b of f.blocks) {
    for (const [name, c] of Object.entries(b.chunks) as Array<[ColumnName, [number, number, number]]>) {
      if (!(c[0] >= HEAD_BYTES && c[1] >= 0 && c[0] + c[1] <= dataEnd)) bad(`chunk ${name} at ${c[0]} (+${c[1]}) lies outside the data`);
      if (name !== 'reasons' && name !== 'rewardTerms' && c[1] !== expected(name, b.rows)) bad(`chunk ${name} has ${c[1]} bytes, expected ${expected(name, b.rows)}`);
    }
    for (const c of COLUMN_SPECS) if ((c.name !== 'obsRaw' || f.raw) && !b.chunks[c.name]) bad(`block without column ${c.name}`);
  }
  if (columnBytes(f, 'rewardTerms') !== f.segments.reduce((a, s) => a + (s.to - s.from) * s.termNames.length * 8, 0)) bad('rewardTerms does not match the reward segments');
}

/** Bytes of a column over all blocks (what readColumnInto fills). */
export function columnBytes(f: ColumnFileFooter, name: NumericColumn): number {
  return f.blocks.reduce((a, b) => a + (b.chunks[name]?.[1] ?? 0), 0);
}

/** Reads a whole column into `dst` (columnBytes long), block after block, checking CRCs. */
export function readColumnInto(f: OpenColumnFile, name: NumericColumn, dst: Uint8Array): void {
  let at = 0;
  for (const b of f.footer.blocks) {
    const c = b.chunks[name];
    if (!c) throw new ColumnFileUnusable('damaged', `${f.path}: no ${name} column`);
    readExactly(f, c, dst.subarray(at, at + c[1]), name);
    at += c[1];
  }
  if (at !== dst.length) throw new ColumnFileUnusable('damaged', `${f.path}: column ${name} has ${at} bytes, expected ${dst.length}`);
}

/** Every logged reason, by row. */
export function readReasons(f: OpenColumnFile): Map<number, string> {
  const out = new Map<number, string>();
  for (const b of f.footer.blocks) {
    const c = b.chunks.reasons;
    if (!c) continue;
    const bytes = new Uint8Array(c[1]);
    readExactly(f, c, bytes, 'reasons');
    for (const [row, text] of JSON.parse(td.decode(bytes)) as Array<[number, string]>) out.set(row, text);
  }
  return out;
}

function readExactly(f: OpenColumnFile, c: [number, number, number], dst: Uint8Array, name: string): void {
  let got = 0;
  while (got < c[1]) {
    const n = readSync(f.fd, dst, got, c[1] - got, c[0] + got);
    if (n === 0) throw new ColumnFileUnusable('damaged', `${f.path}: column ${name} ends early`);
    got += n;
  }
  if ((crc32(dst) >>> 0) !== c[2]) throw new ColumnFileUnusable('damaged', `${f.path}: column ${name} CRC mismatch (bytes ${c[0]}..${c[0] + c[1]})`);
}

/** Throws 'stale' unless `mcapFile` is the file (same name, size and mtime) the columns were made from. */
export function checkSource(f: OpenColumnFile, mcapFile: string): void {
  const src = f.footer.source;
  let st: { size: bigint; mtimeNs: bigint };
  try {
    st = statSync(mcapFile, { bigint: true });
  } catch {
    return; // the original is gone: the copy is all there is
  }
  if (!src || src.file !== basename(mcapFile) || BigInt(src.size) !== st.size || src.mtimeNs !== String(st.mtimeNs)) {
    throw new ColumnFileUnusable('stale', `${f.path}: made from ${src ? `${src.file} (${src.size} bytes, mtime ${src.mtimeNs})` : 'an unnamed file'}, but ${basename(mcapFile)} is now ${st.size} bytes, mtime ${st.mtimeNs}`);
  }
}

/** What `source` should say for an MCAP file as it is now. */
export function sourceOf(mcapFile: string): ColumnFileFooter['source'] {
  const st = statSync(mcapFile, { bigint: true });
  return { file: basename(mcapFile), size: Number(st.size), mtimeNs: String(st.mtimeNs) };
}
