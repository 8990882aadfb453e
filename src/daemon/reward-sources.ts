import { MAX_END_REWARD_SOURCE_BYTES, type EpisodeEnd, type RewardSource } from '../core/records.js';
import type { RewardProgramInfo } from '../reward/runtime.js';

/** Versions remembered, at most (the oldest is forgotten first): far more than can swap in one episode. */
export const MAX_REMEMBERED_SOURCES = 32;

/**
 * The sources of the reward versions this run admitted, so that an episode whose reward was
 * swapped mid-way carries the new versions' sources in its end record (its start record names
 * only the first). Without them a store cannot relabel with a version that never started an
 * episode. Main thread only.
 */
export class RewardSourceBook {
  private readonly known = new Map<string, RewardSource>();
  private startVersion: string | null = null;

  remember(info: Pick<RewardProgramInfo, 'version' | 'sha256' | 'name' | 'filename' | 'source'>, signer: string | null): void {
    this.known.delete(info.version); // re-inserted as the newest
    this.known.set(info.version, { hash: info.version, sha256: info.sha256, name: info.name, filename: basenameOf(info.filename), content: info.source, signer });
    while (this.known.size > MAX_REMEMBERED_SOURCES) this.known.delete(this.known.keys().next().value as string);
  }

  episodeStarted(version: string): void {
    this.startVersion = version;
  }

  /** Adds `rewardSources` to an end record: the versions after the first, in order, leaving out any past the byte bound. */
  addTo(end: EpisodeEnd): void {
    const out: RewardSource[] = [];
    let bytes = 0;
    for (const v of end.rewardVersions) {
      if (v === this.startVersion) continue;
      const s = this.known.get(v);
      if (!s) continue;
      const size = Buffer.byteLength(s.content);
      if (bytes + size > MAX_END_REWARD_SOURCE_BYTES) continue;
      bytes += size;
      out.push(s);
    }
    if (out.length > 0) end.rewardSources = out;
  }
}

const basenameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1) || path;
