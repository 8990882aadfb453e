/**
 * `rewardd reward refine` as a library: Eureka's loop with rewardd's checker.
 *
 *   iteration 0: the given programs (--from), checked and evaluated;
 *   iteration i: K samples from the model, shown the best program so far and
 *                its reflection; each checked and repaired, then evaluated;
 *   the best of all, by fitness, is OUT/best.reward.js.
 *
 * Deviation from Eureka, on purpose: the next prompt reflects on the best
 * program so far, not on the last iteration's best, so one bad iteration with
 * few samples cannot throw away a good program. The conversation sent is
 * bounded: system + task, the best program, its reflection with one line per
 * other candidate of the last iteration (4 messages), plus at most 2 during a repair.
 *
 * Files, all written as they happen (nothing is lost to Ctrl-C):
 *   OUT/iter<i>/<n>.reward.js | <n>.failed.js, <n>.json, <n>.exchanges.jsonl
 *   OUT/best.reward.js, OUT/report.json (rewritten after every candidate), OUT/report.md
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedRobot } from '../core/robot.js';
import { rewarddVersion } from '../core/version.js';
import { checkRewardProgram } from '../reward/check-isolated.js';
import { formatDiagnostic } from '../reward/index.js';
import { authorCandidate } from './author-candidate.js';
import { better, combinedFitness, combinedTieBreak, type Evaluation, type Evaluator, type ProgramText } from './evaluation.js';
import { candidateRecord, CANDIDATE_SCHEMA, prepareOutDir } from './generate.js';
import { Interrupted, LlmError, type ChatClient, type ChatMessage } from './llm-client.js';
import { initialMessages, REFLECTION_ADVICE, type PromptInputs } from './prompt.js';
import { refineMarkdown } from './refine-report.js';
import { Redactor, Transcript, wallTime, writeJsonAtomic, writeTextAtomic } from './transcript.js';

export const REFINE_SCHEMA = 'rewardd.authoring.refine/1';

export interface RefineOptions {
  prompt: PromptInputs;
  seeds: Array<ProgramText & { from: string }>;
  iterations: number;
  samples: number;
  outDir: string;
  evaluators: Evaluator[];
  /** Needed when iterations > 0. */
  client?: ChatClient;
  repairTurns: number;
  redact: Redactor;
  signal?: AbortSignal;
  log?: (line: string) => void;
  progress?: (text: string) => void;
}

export interface RefineCandidate {
  id: string;
  iteration: number;
  sample: number;
  origin: 'seed' | 'llm';
  /** The candidate whose program and reflection were in the prompt (null for seeds and prompts without one). */
  parent: string | null;
  /** Where a seed came from. */
  from?: string;
  file: string | null;
  version: string | null;
  name: string | null;
  terms: string[];
  compiled: boolean;
  checked: boolean;
  repairs: number;
  fitness: number | null;
  tieBreak: number;
  evaluations: Evaluation[];
  seconds: { llm: number; evaluate: number };
  error?: string;
}

export interface RefineReport {
  schema: typeof REFINE_SCHEMA;
  rewardd: string;
  task: string;
  robot: { path: string; name: string; hash: string };
  evaluators: string[];
  llm: { endpoint: string; model: string; parameters: { temperature: number; max_tokens: number }; requests: number; attempts: number; tokens: number } | null;
  iterations: number;
  samples: number;
  startedAt: string;
  finishedAt: string | null;
  interrupted: boolean;
  best: { id: string; file: string; fitness: number; version: string | null } | null;
  /** Best candidate of each iteration, by id. */
  bestPerIteration: Array<{ iteration: number; id: string | null; fitness: number | null }>;
  candidates: RefineCandidate[];
}

export async function refineRewards(o: RefineOptions): Promise<RefineReport> {
  prepareOutDir(o.outDir);
  const base = initialMessages(o.prompt);
  const report: RefineReport = {
    schema: REFINE_SCHEMA,
    rewardd: rewarddVersion(),
    task: o.prompt.task,
    robot: { path: o.prompt.robot.path, name: o.prompt.robot.robot.name, hash: o.prompt.robot.hash },
    evaluators: o.evaluators.map((e) => e.describe()),
    llm: null,
    iterations: o.iterations,
    samples: o.samples,
    startedAt: wallTime(),
    finishedAt: null,
    interrupted: false,
    best: null,
    bestPerIteration: [],
    candidates: [],
  };
  const sources = new Map<string, string>();
  const texts = new Map<string, string>();
  const save = (): void => {
    const c = o.client;
    if (c) report.llm = { endpoint: c.opts.endpoint, model: c.opts.model, parameters: { temperature: c.opts.temperature, max_tokens: c.opts.maxTokens }, requests: c.totals.requests, attempts: c.totals.attempts, tokens: c.totals.total_tokens };
    writeJsonAtomic(join(o.outDir, 'report.json'), report, o.redact);
    writeTextAtomic(join(o.outDir, 'report.md'), refineMarkdown(report), o.redact);
  };
  let best: RefineCandidate | null = null;
  const consider = (c: RefineCandidate): void => {
    report.candidates.push(c);
    if (c.fitness !== null && (best === null || better(c, best))) {
      best = c;
      writeTextAtomic(join(o.outDir, 'best.reward.js'), sources.get(c.id)!, o.redact);
      report.best = { id: c.id, file: 'best.reward.js', fitness: c.fitness, version: c.version };
    }
    save();
  };
  const evaluate = async (c: RefineCandidate, p: ProgramText): Promise<void> => {
    for (const ev of o.evaluators) {
      if (o.signal?.aborted) break;
      o.log?.(`${c.id}: evaluating (${ev.mode})`);
      const e = await ev.evaluate(p, o.signal, (t) => o.progress?.(`${c.id}: ${t}`));
      c.evaluations.push(e);
      c.seconds.evaluate += e.seconds;
      if (!e.ok) c.error = `${ev.mode}: ${e.error ?? 'failed'}`;
    }
    c.fitness = c.evaluations.length === o.evaluators.length ? combinedFitness(c.evaluations) : null;
    c.tieBreak = combinedTieBreak(c.evaluations);
    texts.set(c.id, c.evaluations.map((e) => e.text ?? `${e.mode}: ${e.error}`).join('\n\n'));
    o.log?.(`${c.id}: fitness ${c.fitness === null ? '-' : c.fitness.toFixed(3)}${c.error ? ` (${c.error.split('\n')[0]})` : ''} in ${c.seconds.evaluate.toFixed(1)} s`);
  };
  const newCandidate = (iteration: number, sample: number, origin: RefineCandidate['origin'], parent: string | null): RefineCandidate => ({
    id: `${iteration}-${sample}`, iteration, sample, origin, parent, file: null, version: null, name: null, terms: [], compiled: false, checked: false, repairs: 0, fitness: null, tieBreak: 0, evaluations: [], seconds: { llm: 0, evaluate: 0 },
  });

  try {
    // Iteration 0: the programs we were given.
    const dir0 = join(o.outDir, 'iter0');
    mkdirSync(dir0, { recursive: true });
    for (let i = 0; i < o.seeds.length; i++) {
      if (o.signal?.aborted) throw new Interrupted();
      const s = o.seeds[i]!;
      const c = newCandidate(0, i + 1, 'seed', null);
      c.from = s.from;
      const filename = `${i + 1}.reward.js`;
      const check = await checkRewardProgram({ source: s.source, filename, robot: o.prompt.robot.robot });
      c.compiled = check.info !== undefined;
      c.checked = check.ok;
      c.name = check.info?.name ?? null;
      c.version = check.info?.version ?? null;
      c.terms = check.info?.termNames ?? [];
      c.file = `iter0/${check.ok ? filename : `${i + 1}.failed.js`}`;
      writeFileSync(join(o.outDir, c.file), s.source);
      sources.set(c.id, s.source);
      if (!check.ok) c.error = `reward check: ${check.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)[0] ?? 'failed'}`;
      else await evaluate(c, { source: s.source, filename: s.from });
      writeJsonAtomic(join(dir0, `${i + 1}.json`), { schema: CANDIDATE_SCHEMA, ...c, check: { ...check, info: check.info ? { ...check.info, source: undefined } : undefined } }, o.redact);
      consider(c);
    }
    report.bestPerIteration.push(iterationBest(report.candidates, 0));

    let last: RefineCandidate[] = report.candidates.slice();
    for (let it = 1; it <= o.iterations; it++) {
      if (o.signal?.aborted) throw new Interrupted();
      const client = o.client!;
      const dir = join(o.outDir, `iter${it}`);
      mkdirSync(dir, { recursive: true });
      const parent = best as RefineCandidate | null; // assigned in consider(): TypeScript cannot see that
      const messages: ChatMessage[] = parent ? [...base, { role: 'assistant', content: `\`\`\`js\n${sources.get(parent.id)!.trimEnd()}\n\`\`\`` }, { role: 'user', content: feedback(parent, last, texts) }] : base;
      const sinks = Array.from({ length: o.samples }, (_, i) => new Transcript(join(dir, `${i + 1}.exchanges.jsonl`), o.redact));
      o.log?.(`iteration ${it}: asking ${client.opts.model} for ${o.samples} sample(s)${parent ? `, reflecting on ${parent.id}` : ''}`);
      const answers = await client.sample(messages, sinks, `iteration ${it}`).catch((e: unknown) => {
        if (e instanceof LlmError) return sinks.map(() => e);
        throw e;
      });
      const now: RefineCandidate[] = [];
      for (let i = 0; i < o.samples; i++) {
        const c = newCandidate(it, i + 1, 'llm', parent?.id ?? null);
        const json = join(dir, `${i + 1}.json`);
        const authored = await authorCandidate(answers[i]!, messages, {
          client,
          sink: sinks[i]!,
          robot: o.prompt.robot.robot,
          filename: `${i + 1}.reward.js`,
          repairTurns: o.repairTurns,
          onTurn: (x) => writeJsonAtomic(json, { schema: CANDIDATE_SCHEMA, id: c.id, parent: c.parent, ...candidateRecord(x, client) }, o.redact),
        });
        c.compiled = authored.compiled;
        c.checked = authored.checked;
        c.repairs = authored.repairs;
        c.terms = authored.terms;
        c.seconds.llm = authored.llmMs / 1000;
        c.name = authored.report?.info?.name ?? null;
        c.version = authored.report?.info?.version ?? null;
        if (authored.error !== undefined) c.error = authored.error;
        if (authored.code !== null) {
          c.file = `iter${it}/${i + 1}.${authored.checked ? 'reward' : 'failed'}.js`;
          writeFileSync(join(o.outDir, c.file), authored.code);
          sources.set(c.id, authored.code);
          if (authored.checked) await evaluate(c, { source: authored.code, filename: c.file });
        }
        writeJsonAtomic(json, { schema: CANDIDATE_SCHEMA, ...c, ...candidateRecord(authored, client) }, o.redact);
        consider(c);
        now.push(c);
        if (o.signal?.aborted) throw new Interrupted();
      }
      report.bestPerIteration.push(iterationBest(now, it));
      last = now;
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    report.interrupted = true;
  }
  if (o.signal?.aborted) report.interrupted = true;
  report.finishedAt = wallTime();
  save();
  return report;
}

function iterationBest(cands: RefineCandidate[], iteration: number): RefineReport['bestPerIteration'][number] {
  let b: RefineCandidate | null = null;
  for (const c of cands) if (c.iteration === iteration && c.fitness !== null && (b === null || better(c, b))) b = c;
  return { iteration, id: b?.id ?? null, fitness: b?.fitness ?? null };
}

/** The reflection turn: the best program's feedback, one line per other candidate of the last iteration, Eureka's advice. */
function feedback(parent: RefineCandidate, last: RefineCandidate[], texts: Map<string, string>): string {
  const others = last.filter((c) => c.id !== parent.id);
  return [
    `This is the best program so far (candidate ${parent.id}, fitness ${parent.fitness?.toFixed(3) ?? '-'}).`,
    texts.get(parent.id) ?? '',
    ...(others.length > 0
      ? ['', 'The other candidates of the last round, for comparison:', ...others.map((c) => `- ${c.id}: ${c.fitness !== null ? `fitness ${c.fitness.toFixed(3)}` : `no fitness (${(c.error ?? 'failed').split('\n')[0]!.slice(0, 200)})`}`)]
      : []),
    '',
    REFLECTION_ADVICE,
  ].join('\n');
}
