/**
 * A small ONNX graph builder over the repo's protobuf writer (src/policy/export):
 * nodes with int, float and ints attributes, float32 and int64 initializers,
 * and a model wrapper at opset 17 (LayerNormalization). Field numbers follow
 * onnx/onnx.proto; onnxruntime is the reader.
 */
import { ProtoWriter } from '../policy/export/protobuf.js';
import { onnxValueInfo } from '../policy/export/onnx.js';

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;
export type Attr = number | { f: number } | readonly number[];

export class GraphBuilder {
  private readonly g = new ProtoWriter();
  private n = 0;
  private readonly inputs: ProtoWriter[] = [];
  private readonly outputs: ProtoWriter[] = [];
  /** Bytes of initializer data so far (the bench reports the model size). */
  weightBytes = 0;

  /** Adds a node; returns its (first) output name. */
  node(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, outputs?: readonly string[]): string {
    const id = this.n++;
    const outs = outputs ?? [`${op.toLowerCase()}_${id}`];
    const p = new ProtoWriter();
    for (const i of inputs) p.string(1, i);
    for (const o of outs) p.string(2, o);
    p.string(3, `${op}_${id}`).string(4, op);
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v === 'number') p.message(5, new ProtoWriter().string(1, k).int(3, v).int(20, ATTR.INT));
      else if (Array.isArray(v)) p.message(5, new ProtoWriter().string(1, k).packedInts(8, v as number[]).int(20, ATTR.INTS));
      else p.bytes(5, floatAttr(k, (v as { f: number }).f));
    }
    this.g.message(1, p);
    return outs[0]!;
  }

  /** A float32 initializer. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.g.message(5, new ProtoWriter().packedInts(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw));
    this.weightBytes += data.byteLength;
    return name;
  }

  /** An int64 initializer (shapes, axes, pads, indices). */
  int64(name: string, dims: readonly number[], values: readonly number[]): string {
    const raw = new Uint8Array(values.length * 8);
    const v = new DataView(raw.buffer);
    values.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
    this.g.message(5, new ProtoWriter().packedInts(1, dims).int(2, INT64).string(8, name).bytes(9, raw));
    return name;
  }

  input(name: string, dims: (number | string)[], elemType: 'float' | 'int64' = 'float'): string {
    this.inputs.push(elemType === 'float' ? onnxValueInfo(name, dims) : int64ValueInfo(name, dims));
    return name;
  }

  output(name: string, dims: (number | string)[]): void {
    this.outputs.push(onnxValueInfo(name, dims));
  }

  /** ModelProto: IR version 8, default-domain opset 17. */
  finish(graphName: string, producer = 'rewardd'): Uint8Array {
    this.g.string(2, graphName);
    for (const i of this.inputs) this.g.message(11, i);
    for (const o of this.outputs) this.g.message(12, o);
    return new ProtoWriter().int(1, 8).string(2, producer).message(7, this.g).message(8, new ProtoWriter().string(1, '').int(2, 17)).finish();
  }
}

/** AttributeProto{name=1, f=2 (fixed32: wire type 5, which ProtoWriter does not write), type=20}. */
function floatAttr(name: string, x: number): Uint8Array {
  const head = new ProtoWriter().string(1, name).finish();
  const tail = new ProtoWriter().int(20, ATTR.FLOAT).finish();
  const out = new Uint8Array(head.length + 5 + tail.length);
  out.set(head, 0);
  out[head.length] = (2 << 3) | 5;
  new DataView(out.buffer).setFloat32(head.length + 1, x, true);
  out.set(tail, head.length + 5);
  return out;
}

function int64ValueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, INT64).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}
