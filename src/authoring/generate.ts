/**
 * `rewardd reward generate` as a library: K samples for one task, each through
 * the check-and-repair loop, each written to DIR as it goes:
 *   <n>.reward.js      the program, when it passed `reward check`
 *   <n>.failed.js      the last attempt, when it did not (never a *.reward.js)
 *   <n>.json           provenance: task, robot, model, parameters, timings, tokens, every turn's check
 *   <n>.exchanges.jsonl every request and answer, appended as it happens
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { LoadedRobot } from '../core/robot.js';
import { rewarddVersion } from '../core/version.js';
import { authorCandidate, type AuthoredCandidate } from './author-candidate.js';
import { LlmError, type ChatClient } from './llm-client.js';
import { initialMessages, type PromptInputs } from './prompt.js';
import { Redactor, Transcript, wallTime, writeJsonAtomic } from './transcript.js';

export const CANDIDATE_SCHEMA = 'rewardd.authoring.candidate/1';

export interface GenerateOptions {
  prompt: PromptInputs;
  samples: number;
  outDir: string;
  client: ChatClient;
  repairTurns: number;
  redact: Redactor;
  /** Called when a sample starts and when it is done. */
  onSample?: (n: number, of: number, row?: SampleRow) => void;
}

export interface SampleRow {
  sample: number;
  compiled: boolean;
  checked: boolean;
  repairs: number;
  terms: string[];
  /** The file written for it (name inside outDir), or null. */
  file: string | null;
  error?: string;
}

/** Refuses a folder that already holds candidates: nothing is ever overwritten. */
export function prepareOutDir(dir: string): void {
  if (existsSync(dir)) {
    const mine = readdirSync(dir).filter((f) => /\.(reward\.js|failed\.js|json|jsonl|md)$/.test(f));
    if (mine.length > 0) throw new RewarddError('E_CONFIG', `--out ${dir}: expected a new or empty folder, found ${mine.length} earlier file(s) such as ${mine[0]} (nothing is overwritten)`);
  }
  mkdirSync(dir, { recursive: true });
}

/** What <n>.json says about a candidate's conversation and check (shared by generate and refine). */
export function candidateRecord(c: AuthoredCandidate, client: ChatClient): Record<string, unknown> {
  const report = c.report ? { ...c.report, info: c.report.info ? { ...c.report.info, source: undefined } : undefined } : undefined;
  return {
    llm: {
      endpoint: client.opts.endpoint,
      model: client.opts.model,
      parameters: { temperature: client.opts.temperature, max_tokens: client.opts.maxTokens },
      requests: c.requests,
      tokens: c.tokens,
      ms: Math.round(c.llmMs),
    },
    compiled: c.compiled,
    checked: c.checked,
    repairs: c.repairs,
    terms: c.terms,
    turns: c.turns,
    ...(report ? { check: report } : {}),
    ...(c.error !== undefined ? { error: c.error } : {}),
  };
}

export async function generateRewards(o: GenerateOptions): Promise<SampleRow[]> {
  prepareOutDir(o.outDir);
  const messages = initialMessages(o.prompt);
  const k = o.samples;
  const started = wallTime();
  const sinks = Array.from({ length: k }, (_, i) => new Transcript(join(o.outDir, `${i + 1}.exchanges.jsonl`), o.redact));
  const base = (n: number): Record<string, unknown> => ({
    schema: CANDIDATE_SCHEMA,
    rewardd: rewarddVersion(),
    sample: n,
    task: o.prompt.task,
    robot: { path: o.prompt.robot.path, name: o.prompt.robot.robot.name, hash: o.prompt.robot.hash },
    prompt: { contract: 'docs/reward-programs.md', example: o.prompt.example.path, messages: messages.length },
    startedAt: started,
    transcript: `${n}.exchanges.jsonl`,
  });
  o.onSample?.(0, k);
  // The first answers in one go (n = k where the server allows it); the repairs one sample at a time.
  const firsts = await o.client.sample(messages, sinks, 'first answer').catch((e: unknown) => {
    if (e instanceof LlmError) return sinks.map(() => e);
    throw e;
  });
  const rows: SampleRow[] = [];
  for (let i = 0; i < k; i++) {
    const n = i + 1;
    const json = join(o.outDir, `${n}.json`);
    const write = (c: AuthoredCandidate, file: string | null): void =>
      writeJsonAtomic(json, { ...base(n), finishedAt: wallTime(), file, ...(c.report?.info ? { version: c.report.info.version } : {}), ...candidateRecord(c, o.client) }, o.redact);
    const c = await authorCandidate(firsts[i]!, messages, { client: o.client, sink: sinks[i]!, robot: o.prompt.robot.robot, filename: `${n}.reward.js`, repairTurns: o.repairTurns, onTurn: (x) => write(x, null) });
    let file: string | null = null;
    if (c.code !== null) {
      file = c.checked ? `${n}.reward.js` : `${n}.failed.js`;
      writeFileSync(join(o.outDir, file), c.code);
    }
    write(c, file);
    const row: SampleRow = { sample: n, compiled: c.compiled, checked: c.checked, repairs: c.repairs, terms: c.terms, file, ...(c.error !== undefined ? { error: c.error } : {}) };
    rows.push(row);
    o.onSample?.(n, k, row);
  }
  return rows;
}
