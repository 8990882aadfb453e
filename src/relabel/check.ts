import { diffRewards } from './diff.js';
import type { EpisodeFilter } from './episode-filter.js';
import type { ProgramSpec, RuntimeTuning } from './episode-job.js';
import { activeProgram } from './program-ref.js';
import { RelabelPool } from './pool.js';
import { programIdentities, relabelStore } from './relabel.js';
import { parseEpisodeFilter, selectEpisodes } from './episode-filter.js';
import type { TermSummary } from './stats.js';

/**
 * The store half of `rewardd reward check FILE --store DIR`: a new reward
 * version run over stored episodes as a regression check. The lead's `reward
 * check` verb calls this after its own compile and probe checks.
 */
export interface StoreCheckOptions {
  storeDir: string;
  program: ProgramSpec;
  /** Default: the last 20 episodes (last=20). */
  episodes?: string | EpisodeFilter;
  /** The version to measure the distance to. Default: the newest stored episode's (the active one). */
  baseline?: ProgramSpec;
  jobs?: number;
  tuning?: RuntimeTuning;
  /** Above this canonical distance to the baseline the check warns (not fails). Default 0.5. */
  warnDistance?: number;
}

export interface StoreCheckReport {
  version: string;
  name: string;
  episodes: number;
  steps: number;
  /** Failed steps by status name, and the first few reasons. */
  failures: { count: number; byStatus: Record<string, number>; firstReasons: string[] };
  /** Mean time per step inside the sandbox, batch mode, µs. */
  timePerStepUs: number;
  terms: Array<TermSummary & { expected?: [number, number]; outside: boolean; constant: boolean }>;
  baseline: { version: string; canonicalDistance: number; stepPearson: number; returnPearson: number; successAgreement: number } | null;
  /** False when a step failed or the store had no episode to check. */
  ok: boolean;
  errors: string[];
  warnings: string[];
}

export async function checkRewardOnStore(o: StoreCheckOptions): Promise<StoreCheckReport> {
  // One set of workers for the relabel, the ranges and the distance: the program is compiled once per worker.
  const pool = new RelabelPool({ workers: o.jobs ?? 1 });
  try {
    return await check(o, pool);
  } finally {
    await pool.close();
  }
}

async function check(o: StoreCheckOptions, pool: RelabelPool): Promise<StoreCheckReport> {
  const episodes = o.episodes ?? 'last=20';
  const rep = await relabelStore({ storeDir: o.storeDir, reward: o.program, episodes, pool, save: false, allowNoEpisodes: true, ...(o.tuning ? { tuning: o.tuning } : {}) });
  const errors: string[] = [];
  const warnings: string[] = [];
  const byStatus: Record<string, number> = {};
  const firstReasons: string[] = [];
  for (const e of rep.episodes) {
    for (const [k, v] of Object.entries(e.failures)) byStatus[k] = (byStatus[k] ?? 0) + v;
    if (e.firstFailure && firstReasons.length < 5) firstReasons.push(`${e.episode}: ${e.firstFailure}`);
  }
  if (rep.episodes.length === 0) errors.push(`expected stored episodes matching "${typeof episodes === 'string' ? episodes : 'the filter'}" in ${o.storeDir}, found none`);
  if (rep.failedSteps > 0) errors.push(`expected no failed steps, found ${rep.failedSteps} (${Object.entries(byStatus).map(([k, v]) => `${v} ${k}`).join(', ')})${firstReasons[0] ? `; first: ${firstReasons[0]}` : ''}`);
  for (const e of rep.errors) errors.push(`${e.episode || e.file}: ${e.error}`);

  const first = selectEpisodes(o.storeDir, typeof episodes === 'string' ? parseEpisodeFilter(episodes) : episodes)[0];
  const ranges = (await programIdentities(pool, [o.program], o.tuning ?? {}, o.storeDir, first).catch(() => []))[0]?.ranges;
  const terms = rep.terms.map((t) => {
    const expected = ranges?.[t.term];
    const outside = expected !== undefined && t.steps > 0 && (t.min < expected[0] || t.max > expected[1]);
    const constant = t.steps > 1 && t.max === t.min;
    if (outside) warnings.push(`term ${t.term}: expected values in [${expected[0]}, ${expected[1]}] (meta.ranges), found [${t.min}, ${t.max}]`);
    if (constant) warnings.push(`term ${t.term}: expected it to vary over ${t.steps} logged steps, found it constant at ${t.min}`);
    return { ...t, ...(expected ? { expected } : {}), outside, constant };
  });

  let baseline: StoreCheckReport['baseline'] = null;
  const base = o.baseline ?? activeProgram(o.storeDir);
  if (base && rep.episodes.length > 0) {
    const d = await diffRewards({ storeDir: o.storeDir, a: base, b: o.program, episodes, pool, ...(o.tuning ? { tuning: o.tuning } : {}) });
    baseline = { version: d.a.version, canonicalDistance: d.perStep.canonicalDistance, stepPearson: d.perStep.pearson, returnPearson: d.returns.pearson, successAgreement: d.success.agreement };
    if (d.perStep.canonicalDistance > (o.warnDistance ?? 0.5)) warnings.push(`canonical distance to ${d.a.version} is ${d.perStep.canonicalDistance.toFixed(3)}: this version ranks the logged steps very differently`);
  }
  return {
    version: rep.reward.version,
    name: rep.reward.name,
    episodes: rep.episodes.length,
    steps: rep.steps,
    failures: { count: rep.failedSteps, byStatus: Object.fromEntries(Object.entries(byStatus)), firstReasons },
    timePerStepUs: rep.evalStepsPerSecondPerThread > 0 ? 1e6 / rep.evalStepsPerSecondPerThread : NaN,
    terms,
    baseline,
    ok: errors.length === 0,
    errors,
    warnings,
  };
}

