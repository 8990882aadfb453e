import { rewardStatusName } from '../core/records.js';

/**
 * Says why reward steps fail without flooding the log: the first failure of
 * each (episode, version) in full, then only counts, summed up when the
 * episode ends. Bound: one entry per version seen in the current episode
 * (versions change only by swaps and rollbacks), cleared at every episode end.
 */
export class RewardFailureLog {
  private readonly seen = new Map<string, { counts: Map<string, number> }>();

  constructor(private readonly log: (line: string) => void) {}

  note(episode: string, version: string, status: number, reason: string): void {
    const key = version;
    let e = this.seen.get(key);
    const name = rewardStatusName(status);
    if (!e) {
      e = { counts: new Map() };
      this.seen.set(key, e);
      this.log(`reward v${version} failed in episode ${episode} (${name}): ${reason}`);
    }
    e.counts.set(name, (e.counts.get(name) ?? 0) + 1);
  }

  /** Logs the counts of the episode that ended (when there was more than its first failure) and forgets it. */
  endEpisode(episode: string): void {
    for (const [version, e] of this.seen) {
      const total = [...e.counts.values()].reduce((a, b) => a + b, 0);
      if (total > 1) this.log(`reward v${version} failed ${total} steps in episode ${episode}: ${[...e.counts].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    }
    this.seen.clear();
  }
}
