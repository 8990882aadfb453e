import { locate, type Diagnostic } from './diagnostics.js';
import { checkPartialPrompts, type PartialPrompts } from '../vision/manifest.js';

/**
 * Checks a program's exports as seen from inside the sandbox (DESCRIBE_SOURCE
 * flattens them into JSON there, so no program object ever reaches the host)
 * and turns them into the program's public description.
 */
export const DESCRIBE_SOURCE = String.raw`(function (ns) {
  'use strict';
  const P = (ns.reward === undefined && ns.default !== null && typeof ns.default === 'object') ? ns.default : ns;
  const kind = (v) => v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  const val = (v) => typeof v === 'number' ? String(v) : typeof v === 'string' ? v.slice(0, 60) : kind(v);
  const out = { exports: Object.keys(ns), reward: kind(P.reward), success: kind(P.success), done: kind(P.done), rewardColumns: kind(P.rewardColumns), meta: kind(P.meta) };
  const m = P.meta;
  if (m !== null && typeof m === 'object') {
    out.name = [kind(m.name), val(m.name)];
    out.goal = [kind(m.goal), typeof m.goal === 'string' ? m.goal.slice(0, 2000) : val(m.goal)];
    out.weights = [kind(m.weights), m.weights !== null && typeof m.weights === 'object' ? Object.keys(m.weights).slice(0, 64).map((k) => [k, kind(m.weights[k]), val(m.weights[k])]) : []];
    out.ranges = [kind(m.ranges), m.ranges !== null && typeof m.ranges === 'object' ? Object.keys(m.ranges).slice(0, 64).map((k) => {
      const r = m.ranges[k];
      return [k, kind(r), Array.isArray(r) ? r.slice(0, 3).map(val) : []];
    }) : []];
    out.raw = [kind(m.raw), Array.isArray(m.raw) ? m.raw.slice(0, 257).map((x) => [kind(x), val(x)]) : []];
    if (m.vision !== undefined) {
      try { out.vision = String(JSON.stringify(m.vision)).slice(0, 65536); } catch (e) { out.vision = '!'; }
    }
  }
  return JSON.stringify(out);
})`;

interface Described {
  exports: string[];
  reward: string;
  success: string;
  done: string;
  rewardColumns: string;
  meta: string;
  name?: [string, string];
  goal?: [string, string];
  weights?: [string, [string, string, string][]];
  ranges?: [string, [string, string, string[]][]];
  raw?: [string, [string, string][]];
  /** meta.vision as JSON (cut at 64 KiB), '!' when it does not serialise. */
  vision?: string;
}

export interface ProgramMeta {
  name: string;
  goal: string;
  weights: Record<string, number>;
  termNames: string[];
  ranges?: Record<string, [number, number]>;
  hasSuccess: boolean;
  hasDone: boolean;
  /** The program exports rewardColumns (the same reward over columns, for relabel: docs/reward-columns.md). */
  hasColumns: boolean;
  /** meta.raw: observation names whose raw (uncalibrated) values the program reads as ctx.raw; [] when absent. */
  rawNames: string[];
  /** meta.vision: the prompts the vision encoder scores frames with while this version is active (docs/vision.md). */
  vision?: PartialPrompts;
}

const TERM_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_TERMS = 32;

export function checkDescribed(json: string, source: string, file: string, observationNames: readonly string[]): { meta?: ProgramMeta; diagnostics: Diagnostic[] } {
  const d = JSON.parse(json) as Described;
  const diags: Diagnostic[] = [];
  const err = (re: RegExp | null, code: 'E_REWARD_EXPORTS', message: string): void => {
    const at = re ? locate(source, re) : { line: 0, column: 0, lineText: '' };
    diags.push({ severity: 'error', code, file, line: at.line, column: at.column, message, lineText: at.lineText });
  };
  const found = `exports found: ${d.exports.length > 0 ? d.exports.join(', ') : 'none'}`;
  if (d.reward !== 'function') {
    err(/\breward\b/, 'E_REWARD_EXPORTS', `expected \`export function reward(obs, action, ctx)\` returning an object of named numeric terms, found ${d.reward} (${found})`);
  }
  if (d.rewardColumns !== undefined && d.rewardColumns !== 'undefined' && d.rewardColumns !== 'function') {
    err(/\brewardColumns\b/, 'E_REWARD_EXPORTS', `expected \`export function rewardColumns(obs, action, ctx, out)\` (the same reward over columns: docs/reward-columns.md) or no such export, found ${d.rewardColumns}`);
  }
  for (const opt of ['success', 'done'] as const) {
    if (d[opt] !== 'undefined' && d[opt] !== 'function') {
      err(new RegExp(`\\b${opt}\\b`), 'E_REWARD_EXPORTS', `expected \`export function ${opt}(obs, ctx)\` returning a boolean (or no such export), found ${d[opt]}`);
    }
  }
  if (d.meta !== 'object') {
    err(/\bmeta\b/, 'E_REWARD_EXPORTS', `expected \`export const meta = { name, goal, weights: { term: number } }\`, found ${d.meta} (${found})`);
    return { diagnostics: diags };
  }
  const metaRe = /\bmeta\b\s*(:[^=]*)?=/;
  if (!d.name || d.name[0] !== 'string' || d.name[1].trim() === '') {
    err(metaRe, 'E_REWARD_EXPORTS', `meta.name: expected a non-empty string, found ${d.name?.[0] ?? 'undefined'}`);
  }
  if (!d.goal || d.goal[0] !== 'string') err(metaRe, 'E_REWARD_EXPORTS', `meta.goal: expected a string saying what the robot should do, found ${d.goal?.[0] ?? 'undefined'}`);
  const weights: Record<string, number> = {};
  if (!d.weights || d.weights[0] !== 'object' || d.weights[1].length === 0) {
    err(metaRe, 'E_REWARD_EXPORTS', `meta.weights: expected an object of term weights such as { distance: 1.0, effort: -0.05 }, found ${d.weights?.[0] === 'object' ? 'an empty object' : d.weights?.[0] ?? 'undefined'}`);
  } else {
    if (d.weights[1].length > MAX_TERMS) err(/\bweights\b/, 'E_REWARD_EXPORTS', `meta.weights: expected at most ${MAX_TERMS} terms, found ${d.weights[1].length}`);
    for (const [k, kind, v] of d.weights[1]) {
      const n = Number(v);
      if (!TERM_RE.test(k)) err(/\bweights\b/, 'E_REWARD_EXPORTS', `meta.weights: term name "${k}" must be an identifier (letters, digits, _)`);
      else if (kind !== 'number' || !Number.isFinite(n)) {
        err(new RegExp(`\\b${k}\\b\\s*:`), 'E_REWARD_EXPORTS', `meta.weights.${k}: expected a finite number, found ${kind === 'number' ? v : kind}`);
      } else weights[k] = n;
    }
  }
  let ranges: Record<string, [number, number]> | undefined;
  if (d.ranges && d.ranges[0] !== 'undefined') {
    if (d.ranges[0] !== 'object') err(/\branges\b/, 'E_REWARD_EXPORTS', `meta.ranges: expected { term: [min, max] }, found ${d.ranges[0]}`);
    else {
      ranges = {};
      for (const [k, kind, v] of d.ranges[1]) {
        const lo = Number(v[0]);
        const hi = Number(v[1]);
        if (!(k in weights)) err(/\branges\b/, 'E_REWARD_EXPORTS', `meta.ranges.${k}: expected a term named in meta.weights (${Object.keys(weights).join(', ')}), found "${k}"`);
        else if (kind !== 'array' || v.length !== 2 || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
          err(/\branges\b/, 'E_REWARD_EXPORTS', `meta.ranges.${k}: expected [min, max] with finite min <= max, found ${kind === 'array' ? `[${v.join(', ')}]` : kind}`);
        } else ranges[k] = [lo, hi];
      }
    }
  }
  const rawNames = checkRaw(d.raw, observationNames, (m) => err(/\braw\b/, 'E_REWARD_EXPORTS', m));
  let vision: PartialPrompts | undefined;
  if (d.vision !== undefined) {
    try {
      vision = checkPartialPrompts('meta.vision', d.vision === '!' ? undefined : JSON.parse(d.vision));
    } catch (e) {
      err(/\bvision\b/, 'E_REWARD_EXPORTS', (e as Error).message.replace(/^E_VISION: /, ''));
    }
  }
  if (diags.length > 0) return { diagnostics: diags };
  const meta: ProgramMeta = {
    name: d.name?.[1] ?? '',
    goal: d.goal?.[1] ?? '',
    weights,
    termNames: Object.keys(weights),
    hasSuccess: d.success === 'function',
    hasDone: d.done === 'function',
    hasColumns: d.rewardColumns === 'function',
    rawNames,
    ...(ranges ? { ranges } : {}),
    ...(vision ? { vision } : {}),
  };
  return { meta, diagnostics: diags };
}

/** meta.raw: absent means []; otherwise every entry must name an observation of the robot, once. */
function checkRaw(raw: Described['raw'], observationNames: readonly string[], err: (message: string) => void): string[] {
  if (!raw || raw[0] === 'undefined') return [];
  if (raw[0] !== 'array') {
    err(`meta.raw: expected an array of observation names such as ['${observationNames[0] ?? 'x'}'], found ${raw[0]}`);
    return [];
  }
  const names: string[] = [];
  const known = `(${observationNames.join(', ')})`;
  if (raw[1].length > observationNames.length) err(`meta.raw: expected at most ${observationNames.length} names (one per observation), found ${raw[1].length}`);
  raw[1].forEach(([kind, v], i) => {
    if (kind !== 'string') err(`meta.raw[${i}]: expected an observation name (a string), found ${kind}`);
    else if (!observationNames.includes(v)) err(`meta.raw[${i}]: expected an observation of the robot ${known}, found "${v}"`);
    else if (names.includes(v)) err(`meta.raw[${i}]: "${v}" is listed twice`);
    else names.push(v);
  });
  return names;
}
