/**
 * Writes an Mlp as an ONNX model (opset 13): one Gemm per layer (+ Tanh),
 * weights as float32 initializers, input "obs" [batch, inputs] and output
 * "action" [batch, outputs]. Field numbers follow onnx/onnx.proto.
 */
import { writeFileSync } from 'node:fs';
import type { Mlp } from '../mlp.js';
import { ProtoWriter } from './protobuf.js';

const FLOAT = 1;
const ATTR_INT = 2;

export function onnxTensor(name: string, dims: number[], data: Float32Array): ProtoWriter {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian float32).
  const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  return new ProtoWriter().packedInts(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw);
}

export function onnxValueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  // ValueInfoProto{name=1, type=2{tensor_type=1{elem_type=1, shape=2{dim=1{dim_value=1 | dim_param=2}}}}}
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

export function onnxNode(op: string, inputs: string[], outputs: string[], name: string, attrs: [string, number][] = []): ProtoWriter {
  // NodeProto: input=1, output=2, name=3, op_type=4, attribute=5{name=1, i=3, type=20}
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const [k, v] of attrs) n.message(5, new ProtoWriter().string(1, k).int(3, v).int(20, ATTR_INT));
  return n;
}

export interface OnnxExportOptions {
  input?: string;
  output?: string;
  producer?: string;
}

export function encodeOnnxMlp(mlp: Mlp, opts: OnnxExportOptions = {}): Uint8Array {
  const input = opts.input ?? 'obs';
  const output = opts.output ?? 'action';
  const graph = new ProtoWriter();
  let x = input;
  mlp.layers.forEach((l, k) => {
    const last = k + 1 === mlp.layers.length;
    const pre = `dense_${k}/pre`;
    const post = last ? output : `dense_${k}/out`;
    graph.message(1, onnxNode('Gemm', [x, `dense_${k}/kernel`, `dense_${k}/bias`], [l.activation === 'tanh' ? pre : post], `dense_${k}/gemm`));
    if (l.activation === 'tanh') graph.message(1, onnxNode('Tanh', [pre], [post], `dense_${k}/tanh`));
    x = post;
  });
  graph.string(2, 'rewardd_mlp');
  mlp.layers.forEach((l, k) => {
    graph.message(5, onnxTensor(`dense_${k}/kernel`, [l.inputs, l.units], l.kernel));
    graph.message(5, onnxTensor(`dense_${k}/bias`, [l.units], l.bias));
  });
  graph.message(11, onnxValueInfo(input, ['batch', mlp.inputs]));
  graph.message(12, onnxValueInfo(output, ['batch', mlp.outputs]));
  return encodeOnnxModel(graph, opts.producer);
}

/**
 * Wraps a GraphProto (nodes=1, name=2, initializers=5, inputs=11, outputs=12, built with
 * onnxNode / onnxTensor / onnxValueInfo) into a ModelProto: IR version 8, default-domain opset 13.
 */
export function encodeOnnxModel(graph: ProtoWriter, producer = 'rewardd'): Uint8Array {
  // ModelProto: ir_version=1, producer_name=2, graph=7, opset_import=8{domain=1, version=2}
  return new ProtoWriter().int(1, 8).string(2, producer).message(7, graph).message(8, new ProtoWriter().string(1, '').int(2, 13)).finish();
}

export function writeOnnxMlp(mlp: Mlp, path: string, opts: OnnxExportOptions = {}): void {
  writeFileSync(path, encodeOnnxMlp(mlp, opts));
}
