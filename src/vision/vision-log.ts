/**
 * The main thread's side of vision logging: drains the encoder's record ring
 * whenever the control thread hands over a step batch (so every record a step
 * used is in the ring by then: the encoder writes the ring before the fields
 * mailbox), and turns the records into vision batches of the current episode,
 * each carrying the prompt sets its records reference the first time the
 * episode sees them. Bound: maxRecordsPerEpisode records are logged per
 * episode; the rest are counted (notLogged) and dropped, steps keep their
 * fields. Prompt sets remembered: the last MAX_PROMPT_SETS.
 */
import type { PromptSetRecord } from './prompt-set.js';
import type { RecordRing, VisionRecord } from './record-ring.js';
import type { VisionBatch } from './vision-batch.js';

const MAX_PROMPT_SETS = 64;

export interface EpisodeVisionCounters {
  recordsLogged: number;
  framesLogged: number;
  notLogged: number;
  lost: number;
}

export class VisionLog {
  private readonly sets = new Map<number, PromptSetRecord>();
  private episode = '';
  private index = 0;
  private loggedSets = new Set<string>();
  private c: EpisodeVisionCounters = { recordsLogged: 0, framesLogged: 0, notLogged: 0, lost: 0 };
  private lostBefore = 0;
  /** The newest record drained: the first steps of the next episode may still use it, so it is logged there too. */
  private last: VisionRecord | null = null;
  private carry: VisionRecord | null = null;

  constructor(
    private readonly ring: RecordRing,
    private readonly robot: string,
    private readonly kinds: string[],
    private readonly maxRecordsPerEpisode: number,
  ) {}

  addPromptSet(n: number, r: PromptSetRecord): void {
    this.sets.set(n, r);
    if (this.sets.size > MAX_PROMPT_SETS) this.sets.delete(this.sets.keys().next().value as number);
  }

  startEpisode(episode: string): void {
    this.episode = episode;
    this.index = 0;
    this.loggedSets = new Set();
    this.c = { recordsLogged: 0, framesLogged: 0, notLogged: 0, lost: 0 };
    this.lostBefore = this.ring.lost;
    this.carry = this.last;
  }

  /** Records since the last call, as a batch of `episode` (null when there are none). */
  flush(episode: string): VisionBatch | null {
    if (episode !== this.episode) this.startEpisode(episode);
    const recs = this.ring.drain();
    if (this.carry) {
      recs.unshift(this.carry);
      this.carry = null;
    }
    if (recs.length > 0) this.last = recs[recs.length - 1]!;
    this.c.lost = this.ring.lost - this.lostBefore;
    const prompts: PromptSetRecord[] = [];
    const out: VisionBatch['records'] = [];
    for (const r of recs) {
      if (this.c.recordsLogged >= this.maxRecordsPerEpisode) {
        this.c.notLogged++;
        continue;
      }
      const set = this.sets.get(r.promptsN);
      if (set && !this.loggedSets.has(set.id)) {
        this.loggedSets.add(set.id);
        prompts.push(set);
      }
      out.push({ seq: r.seq % 16777216, frameSeq: r.frameSeq, tNs: r.tNs, encodeMs: r.encodeMs, prompts: set?.id ?? '', values: Array.from(r.values), embedding: r.embedding, jpeg: r.jpeg });
      this.c.recordsLogged++;
      if (r.jpeg) this.c.framesLogged++;
    }
    if (out.length === 0) return null;
    return { episode, robot: this.robot, index: this.index++, embeddingSize: this.ring.shape.embedding, kinds: this.kinds, prompts, records: out };
  }

  counters(): EpisodeVisionCounters {
    return { ...this.c };
  }
}
