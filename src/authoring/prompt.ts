/**
 * The prompts, Text2Reward-style: the robot description as the environment
 * abstraction (names, units, ranges, descriptions; no simulator source), the
 * reward file contract and standard library (docs/reward-programs.md), one
 * example program, the task. The repair and reflection turns are here too, so
 * every word the model reads is in one file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { LoadedRobot } from '../core/robot.js';
import { packageRoot } from '../core/version.js';
import { formatDiagnostic, type Diagnostic } from '../reward/index.js';
import type { ChatMessage } from './llm-client.js';

export const CONTRACT_DOC = 'docs/reward-programs.md';
export const DEFAULT_EXAMPLE = 'rewards/reach-beacon.reward.js';

export interface PromptInputs {
  task: string;
  robot: LoadedRobot;
  /** The example program's path and text. */
  example: { path: string; source: string };
  /** The contract text (docs/reward-programs.md as shipped, unless a test gives another). */
  contract?: string;
}

const ANSWER_RULES = [
  'How to answer:',
  '- Reply with the whole program in ONE fenced ```js block. Keep any explanation short and outside the block.',
  '- Read only the observation and action names of the robot description. Never invent a field.',
  '- Keep each term in a fixed range, about [0, 1] (tolerance, clamp, tanh, exp), and set the balance in meta.weights. Give every transformed term its own named scale constant.',
  '- On the robot and in training an episode ends as soon as success() or done() returns true, or at the step limit, and its return is the sum of the totals until then. A total that is positive on every step pays the policy to keep the episode going: pair it with a cost per step, or make progress toward the goal the main term.',
].join('\n');

/** docs/reward-programs.md without its rover field table (the robot section replaces it) and without its example (one is given separately). */
export function contractText(doc: string): string {
  let text = doc;
  const table = /`obs`: the observation, one number per named field\. For the rover[^\n]*\n\n(\|[^\n]*\n)+/;
  if (table.test(text)) text = text.replace(table, '`obs`: the observation, one number per named field: the observations of the robot description below.\n');
  const ex = text.indexOf('\n## A complete example');
  if (ex >= 0) text = text.slice(0, ex);
  return text.trim();
}

export function loadContract(): string {
  const p = join(packageRoot(), CONTRACT_DOC);
  try {
    return contractText(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new RewarddError('E_FILE', `${p}: expected the reward contract shipped with rewardd, ${(e as Error).message}`);
  }
}

type RawField = { name?: unknown; description?: unknown };

/** The robot as the model sees it: every field with unit, range and description (the file's optional `description` per field). */
export function environmentText(robot: LoadedRobot): string {
  const r = robot.robot;
  // Descriptions per field are optional extras of the robot file that the runtime does not read.
  let raw: { observations?: RawField[]; actions?: RawField[] } = {};
  try {
    raw = JSON.parse(readFileSync(robot.path, 'utf8')) as typeof raw;
  } catch {
    /* loadRobot read it already; without it there are just no descriptions */
  }
  const desc = (list: RawField[] | undefined, name: string): string => {
    const d = list?.find((f) => f.name === name)?.description;
    return typeof d === 'string' ? d : '';
  };
  const row = (kind: 'obs' | 'action', f: { name: string; unit: string; min: number; max: number }, d: string): string => `| \`${kind}.${f.name}\` | ${f.unit} | ${f.min} to ${f.max} | ${d} |`;
  const lines = [
    `Robot "${r.name}"${r.description ? `: ${r.description}` : ''}`,
    '',
    'Observations (calibrated, one number each, arriving as 32-bit floats):',
    '',
    '| field | unit | range | meaning |',
    '|---|---|---|---|',
    ...r.observations.map((f) => row('obs', f, desc(raw.observations, f.name))),
    '',
    'Actions (the command applied this tick):',
    '',
    '| field | unit | range | meaning |',
    '|---|---|---|---|',
    ...r.actions.map((f) => row('action', f, desc(raw.actions, f.name))),
  ];
  if (r.geometry && Object.keys(r.geometry).length > 0) lines.push('', `Geometry: ${Object.entries(r.geometry).map(([k, v]) => `${k} = ${v}`).join(', ')}.`);
  return lines.join('\n');
}

export function systemPrompt(contract: string): string {
  return [
    'You are a reward engineer. You write dense reward programs for rewardd, a reward runtime for real robots, so that a policy trained by reinforcement learning learns the task described in text. The program runs on the robot every control tick, in a sandbox. This is its whole contract:',
    '',
    contract,
    '',
    ANSWER_RULES,
  ].join('\n');
}

/**
 * The example as the model sees it: without an `export function rewardColumns` (and the comment
 * paragraphs that talk about it). A candidate with a columnar twin can fail one more way (the two
 * forms must agree bit for bit, docs/reward-columns.md), and the refinement loop's relabels are
 * bound by worker start-up and reading, not by evaluation; so the model is shown reward() alone.
 * Returns the source unchanged when the function's braces cannot be matched.
 */
export function withoutColumnsForm(source: string): string {
  const lines = source.split('\n');
  const start = lines.findIndex((l) => /^export\s+function\s+rewardColumns\b/.test(l));
  if (start < 0) return source;
  let depth = 0;
  let opened = false;
  let end = -1;
  for (let k = start; k < lines.length && end < 0; k++) {
    for (const ch of lines[k]!) {
      if (ch === '{') (depth++, (opened = true));
      else if (ch === '}') depth--;
    }
    if (opened && depth === 0) end = k;
  }
  if (end < 0) return source;
  let from = start;
  while (from > 0 && /^\s*\/\//.test(lines[from - 1]!)) from--;
  const kept = [...lines.slice(0, from), ...lines.slice(end + 1)];
  // Comment paragraphs (between blank `//` lines) that mention rewardColumns go too.
  const out: string[] = [];
  for (let k = 0; k < kept.length; ) {
    if (!/^\/\/./.test(kept[k]!)) {
      out.push(kept[k++]!);
      continue;
    }
    let e = k;
    while (e < kept.length && /^\/\/./.test(kept[e]!)) e++;
    const para = kept.slice(k, e);
    if (para.some((l) => l.includes('rewardColumns'))) {
      if (out.at(-1) === '//') out.pop();
    } else out.push(...para);
    k = e;
  }
  return out.join('\n').replace(/\n{3,}$/, '\n\n');
}

export function taskPrompt(i: PromptInputs): string {
  return [
    '## The robot (this is all that is known about its environment)',
    '',
    environmentText(i.robot),
    '',
    `## An example program (${i.example.path})`,
    '',
    '```js',
    withoutColumnsForm(i.example.source).trimEnd(),
    '```',
    '',
    '## The task',
    '',
    i.task.trim(),
    '',
    'Write a reward program for this task.',
  ].join('\n');
}

export function initialMessages(i: PromptInputs): ChatMessage[] {
  return [
    { role: 'system', content: systemPrompt(i.contract ?? loadContract()) },
    { role: 'user', content: taskPrompt(i) },
  ];
}

/** The repair turn: the checker's diagnostics, as a compiler prints them. */
export function repairPrompt(diagnostics: Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  return [
    '`rewardd reward check` rejected the program:',
    '',
    '```',
    ...errors.map(formatDiagnostic),
    ...(warnings.length > 0 ? ['', 'warnings (allowed, but worth a look):', ...warnings.map(formatDiagnostic)] : []),
    '```',
    '',
    'Fix every error and reply with the whole corrected program in one ```js block.',
  ].join('\n');
}

export const NO_PROGRAM_PROMPT = 'I found no reward program in your answer: expected the whole file (with `export const meta` and `export function reward`) in one ```js fenced block. Reply with it.';

export const TRUNCATED_NOTE = 'Your answer was cut off by the token limit before the program was complete. Reply with a shorter, complete program in one ```js block.';

/** Eureka's reflection advice, in this contract's terms. */
export const REFLECTION_ADVICE = [
  'Analyse the feedback carefully and write a new, improved reward program for the task. Tips for reading the feedback:',
  '  (1) If the task success rate stays near zero, rewrite the whole program.',
  '  (2) If a term\'s values are nearly the same throughout, training cannot optimise it as written. Change its scale or its temperature, rewrite it, or drop it.',
  '  (3) If one term is much larger than the others, rescale it to a fair range.',
  'First analyse each existing term as suggested above, then write the program.',
].join('\n');
