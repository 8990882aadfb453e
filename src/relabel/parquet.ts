import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import {
  Bool, Field, FixedSizeList, Float32, Float64, Int64, List, RecordBatch, Schema, Struct, Table, Utf8, makeData, tableToIPC,
  type Data, type DataType,
} from 'apache-arrow';
import { RewarddError } from '../core/errors.js';

/**
 * One Parquet file from typed columns: an Arrow table built over the arrays
 * (apache-arrow, no copy of the values), handed to parquet-wasm (the Rust
 * `parquet` crate compiled to WebAssembly) as an Arrow IPC stream, written
 * Snappy-compressed under a temporary name and renamed.
 *
 * Types are the ones LeRobot's features map to (HF datasets): fixed-size lists
 * for vectors (datasets.Sequence(length=n)), plain values for shape [1],
 * list<string> for an episode's tasks.
 */
export type ParquetColumn =
  | { name: string; type: 'float32'; values: Float32Array }
  | { name: string; type: 'float64'; values: Float64Array }
  | { name: string; type: 'int64'; values: BigInt64Array }
  /** 0 / non-zero per row. */
  | { name: string; type: 'bool'; values: Uint8Array }
  | { name: string; type: 'utf8'; values: string[] }
  | { name: string; type: 'list<utf8>'; values: string[][] }
  /** rows × width values, row-major. */
  | { name: string; type: 'fixed<float32>'; width: number; values: Float32Array };

type ParquetWasm = typeof import('parquet-wasm');
let wasm: ParquetWasm | undefined;
/** parquet-wasm's Node build, loaded on first use (export --format lerobot only). */
function parquetWasm(): ParquetWasm {
  wasm ??= createRequire(import.meta.url)('parquet-wasm') as ParquetWasm;
  return wasm;
}

const te = new TextEncoder();

function utf8(values: string[]): Data<Utf8> {
  const bytes = values.map((v) => te.encode(v));
  const offsets = new Int32Array(values.length + 1);
  for (let i = 0; i < bytes.length; i++) offsets[i + 1] = offsets[i]! + bytes[i]!.length;
  const data = new Uint8Array(offsets[values.length]!);
  bytes.forEach((b, i) => data.set(b, offsets[i]!));
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data });
}

function column(c: ParquetColumn): { rows: number; data: Data<DataType> } {
  switch (c.type) {
    case 'float32':
      return { rows: c.values.length, data: makeData({ type: new Float32(), length: c.values.length, nullCount: 0, data: c.values }) };
    case 'float64':
      return { rows: c.values.length, data: makeData({ type: new Float64(), length: c.values.length, nullCount: 0, data: c.values }) };
    case 'int64':
      return { rows: c.values.length, data: makeData({ type: new Int64(), length: c.values.length, nullCount: 0, data: c.values }) };
    case 'bool': {
      const n = c.values.length;
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (c.values[i] !== 0) bits[i >> 3]! |= 1 << (i & 7);
      return { rows: n, data: makeData({ type: new Bool(), length: n, nullCount: 0, data: bits }) };
    }
    case 'utf8':
      return { rows: c.values.length, data: utf8(c.values) };
    case 'list<utf8>': {
      const offsets = new Int32Array(c.values.length + 1);
      c.values.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l.length));
      const child = utf8(c.values.flat());
      return { rows: c.values.length, data: makeData({ type: new List(new Field('item', new Utf8(), true)), length: c.values.length, nullCount: 0, valueOffsets: offsets, child }) };
    }
    case 'fixed<float32>': {
      const rows = c.width > 0 ? c.values.length / c.width : 0;
      const child = makeData({ type: new Float32(), length: c.values.length, nullCount: 0, data: c.values });
      return { rows, data: makeData({ type: new FixedSizeList(c.width, new Field('item', new Float32(), true)), length: rows, nullCount: 0, child }) };
    }
  }
}

/** The Parquet bytes of these columns (all of one length); `metadata` goes in the file's key-value metadata. */
export function parquetBytes(columns: ParquetColumn[], metadata: Record<string, string> = {}): Uint8Array {
  const cols = columns.map((c) => ({ c, ...column(c) }));
  const rows = cols[0]?.rows ?? 0;
  const odd = cols.find((x) => x.rows !== rows);
  if (odd) throw new RewarddError('E_CONFIG', `parquet: expected every column to have ${rows} rows, found ${odd.rows} in ${odd.c.name}`);
  const fields = cols.map((x) => new Field(x.c.name, x.data.type, false));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: cols.map((x) => x.data) }));
  const ipc = tableToIPC(new Table(schema, [batch]), 'stream');
  const pw = parquetWasm();
  const table = pw.Table.fromIPCStream(ipc);
  let props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.SNAPPY);
  if (Object.keys(metadata).length > 0) props = props.setKeyValueMetadata(new Map(Object.entries(metadata)));
  return pw.writeParquet(table, props.build());
}

export function writeParquetFile(path: string, columns: ParquetColumn[], metadata?: Record<string, string>): number {
  const bytes = parquetBytes(columns, metadata);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
  return bytes.length;
}
