/**
 * The vision channels of an episode's MCAP file, written by the recorder from
 * the episode's vision batches and read back by relabel:
 *
 *   /vision/embedding          ros1msg rewardd/VisionEmbedding: uint32 seq, uint32 frame_seq, int64 t_ns,
 *                              float64 encode_ms, string prompts, float64[K] values, float32[E] embedding
 *                              (metadata: kinds, embedding_size; MCAP sequence = record seq)
 *   /vision/prompts            json: one PromptSetRecord per prompt set (texts, α and their embeddings)
 *   /camera/<name>/compressed  json foxglove.CompressedImage (timestamp, frame_id, format "jpeg", base64 data),
 *                              so Foxglove shows the frames; MCAP sequence = the record seq it belongs to
 *
 * Log time: the frame's monotonic time mapped onto wall time through the start record.
 */
import { readFileSync } from 'node:fs';
import { McapStreamReader } from '@mcap/core';
import type { EpisodeStart } from '../core/records.js';
import type { McapFileWriter } from '../recorder/mcap-file-writer.js';
import type { PromptSetRecord } from './prompt-set.js';
import type { VisionBatch } from './vision-batch.js';

export const EMBEDDING_TOPIC = '/vision/embedding';
export const PROMPTS_TOPIC = '/vision/prompts';
export const cameraImageTopic = (name: string): string => `/camera/${name}/compressed`;

const embeddingSchema = (k: number, e: number): string =>
  ['uint32 seq', 'uint32 frame_seq', 'int64 t_ns', 'float64 encode_ms', 'string prompts', `float64[${k}] values`, `float32[${e}] embedding`].join('\n');

const COMPRESSED_IMAGE_SCHEMA = JSON.stringify({
  title: 'foxglove.CompressedImage',
  type: 'object',
  properties: {
    timestamp: { type: 'object', properties: { sec: { type: 'integer' }, nsec: { type: 'integer' } } },
    frame_id: { type: 'string' },
    data: { type: 'string', contentEncoding: 'base64' },
    format: { type: 'string' },
  },
});

const te = new TextEncoder();

/** Writes every record of `batches` (in batch order) into the file; returns the records written. */
export async function writeVisionChannels(w: McapFileWriter, batches: readonly VisionBatch[], start: EpisodeStart | undefined, meta: Map<string, string>): Promise<number> {
  const first = batches[0];
  if (!first) return 0;
  const K = first.kinds.length;
  const E = first.embeddingSize;
  const es = w.registerSchema({ name: 'rewardd/VisionEmbedding', encoding: 'ros1msg', data: te.encode(embeddingSchema(K, E)) });
  const embCh = w.registerChannel({ schemaId: es, topic: EMBEDDING_TOPIC, messageEncoding: 'ros1', metadata: new Map([...meta, ['kinds', JSON.stringify(first.kinds)], ['embedding_size', String(E)]]) });
  const ps = w.registerSchema({ name: 'rewardd/VisionPrompts', encoding: 'jsonschema', data: te.encode('{"type":"object"}') });
  const promptsCh = w.registerChannel({ schemaId: ps, topic: PROMPTS_TOPIC, messageEncoding: 'json', metadata: meta });
  let imgCh = -1;
  const toWall = (tNs: bigint): bigint => {
    if (!start) return tNs < 0n ? 0n : tNs;
    const ms = start.startedWallMs + Number(tNs - BigInt(start.startedNs)) / 1e6;
    return BigInt(Math.max(0, Math.round(ms * 1e6)));
  };
  let n = 0;
  const seen = new Set<number>();
  for (const b of batches) {
    for (const p of b.prompts) {
      const t = toWall(BigInt(start?.startedNs ?? '0'));
      await w.addMessage(promptsCh, 0, t, t, te.encode(JSON.stringify(p)));
    }
    for (const r of b.records) {
      if (seen.has(r.seq) || r.values.length !== K || r.embedding.length !== E) continue; // a replayed batch
      seen.add(r.seq);
      const ptxt = te.encode(r.prompts);
      const buf = new Uint8Array(4 + 4 + 8 + 8 + 4 + ptxt.length + 8 * K + 4 * E);
      const v = new DataView(buf.buffer);
      v.setUint32(0, r.seq, true);
      v.setUint32(4, r.frameSeq >>> 0, true);
      v.setBigInt64(8, r.tNs, true);
      v.setFloat64(16, r.encodeMs, true);
      v.setUint32(24, ptxt.length, true);
      buf.set(ptxt, 28);
      let o = 28 + ptxt.length;
      for (let i = 0; i < K; i++) v.setFloat64(o + 8 * i, r.values[i]!, true);
      o += 8 * K;
      for (let i = 0; i < E; i++) v.setFloat32(o + 4 * i, r.embedding[i]!, true);
      const t = toWall(r.tNs);
      await w.addMessage(embCh, r.seq, t, t, buf);
      n++;
      if (r.jpeg) {
        if (imgCh < 0) {
          const is = w.registerSchema({ name: 'foxglove.CompressedImage', encoding: 'jsonschema', data: te.encode(COMPRESSED_IMAGE_SCHEMA) });
          imgCh = w.registerChannel({ schemaId: is, topic: cameraImageTopic(start?.vision?.camera.name ?? 'camera'), messageEncoding: 'json', metadata: meta });
        }
        const msg = { timestamp: { sec: Number(t / 1_000_000_000n), nsec: Number(t % 1_000_000_000n) }, frame_id: start?.vision?.camera.name ?? 'camera', format: 'jpeg', data: Buffer.from(r.jpeg).toString('base64') };
        await w.addMessage(imgCh, r.seq, t, t, te.encode(JSON.stringify(msg)));
      }
    }
  }
  return n;
}

export interface StoredRecord {
  seq: number;
  frameSeq: number;
  tNs: bigint;
  prompts: string;
  values: Float64Array;
  embedding: Float32Array;
}

export interface StoredVision {
  kinds: string[];
  embeddingSize: number;
  prompts: Map<string, PromptSetRecord>;
  records: Map<number, StoredRecord>;
  /** JPEG frames by record seq (where kept). */
  frames: Map<number, Uint8Array>;
}

/** Reads an episode file's vision channels (empty maps for an episode recorded without vision). */
export function readStoredVision(file: string): StoredVision {
  const reader = new McapStreamReader({ validateCrcs: true });
  reader.append(readFileSync(file));
  const out: StoredVision = { kinds: [], embeddingSize: 0, prompts: new Map(), records: new Map(), frames: new Map() };
  const topics = new Map<number, string>();
  const td = new TextDecoder();
  for (let rec; (rec = reader.nextRecord()); ) {
    if (rec.type === 'Channel') {
      topics.set(rec.id, rec.topic);
      if (rec.topic === EMBEDDING_TOPIC) {
        out.kinds = JSON.parse(rec.metadata.get('kinds') ?? '[]') as string[];
        out.embeddingSize = Number(rec.metadata.get('embedding_size') ?? 0);
      }
    } else if (rec.type === 'Message') {
      const topic = topics.get(rec.channelId);
      const d = rec.data;
      if (topic === EMBEDDING_TOPIC) {
        const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
        const pl = v.getUint32(24, true);
        const K = out.kinds.length;
        const E = out.embeddingSize;
        let o = 28 + pl;
        const values = new Float64Array(K);
        for (let i = 0; i < K; i++) values[i] = v.getFloat64(o + 8 * i, true);
        o += 8 * K;
        const embedding = new Float32Array(E);
        for (let i = 0; i < E; i++) embedding[i] = v.getFloat32(o + 4 * i, true);
        const seq = v.getUint32(0, true);
        out.records.set(seq, { seq, frameSeq: v.getUint32(4, true), tNs: v.getBigInt64(8, true), prompts: td.decode(d.subarray(28, 28 + pl)), values, embedding });
      } else if (topic === PROMPTS_TOPIC) {
        const p = JSON.parse(td.decode(d)) as PromptSetRecord;
        out.prompts.set(p.id, p);
      } else if (topic?.startsWith('/camera/')) {
        const m = JSON.parse(td.decode(d)) as { data: string };
        out.frames.set(rec.sequence, new Uint8Array(Buffer.from(m.data, 'base64')));
      }
    }
  }
  return out;
}
