import type { DiffReport } from './diff.js';
import type { RelabelReport } from './relabel.js';
import type { TermSummary } from './stats.js';
import { grouped } from '../core/grouped.js';

/** Plain-text tables for the relabel and diff verbs (JSON output is the report objects as they are). */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export function table(head: string[], rows: string[][], rightAlign: ReadonlySet<number> = new Set()): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (rightAlign.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function termTable(terms: TermSummary[], total?: TermSummary): string {
  const rows = [...terms, ...(total ? [total] : [])].map((t) => [t.term, num(t.weight), num(t.max), num(t.mean), num(t.min), num(t.std)]);
  return table(['term', 'weight', 'max', 'mean', 'min', 'std'], rows, new Set([1, 2, 3, 4, 5]));
}

export function formatRelabel(r: RelabelReport): string {
  const out: string[] = [];
  out.push(`reward ${r.reward.name} v${r.reward.version} (${r.reward.filename}): ${r.episodes.length} episode(s), ${grouped(r.steps)} steps in ${r.seconds.toFixed(2)} s`
    + ` (${grouped(r.stepsPerSecond)} steps/s end to end; ${grouped(r.evalStepsPerSecondPerThread)} steps/s per worker in the sandbox, ${r.jobs} worker process(es))`);
  out.push(readLine(r.read));
  if (r.form.hasColumns) out.push(formLine(r.form));
  out.push('');
  const rows = r.episodes.map((e) => [
    e.episode, String(e.steps), num(e.return, 6), e.success ? `yes@${e.successSeq}` : 'no', String(e.failed),
    ...(r.verify ? [e.verify ? verdict(e.verify) : '-'] : []),
  ]);
  out.push(table(['episode', 'steps', 'return', 'success', 'failed', ...(r.verify ? ['verify'] : [])], rows, new Set([1, 2, 4])));
  out.push('');
  out.push('per-term statistics over all ok steps (reward reflection):');
  out.push(termTable(r.terms, r.total));
  if (r.failedSteps > 0) out.push('', `${r.failedSteps} failed step(s); first reasons:`, ...r.episodes.filter((e) => e.firstFailure).slice(0, 5).map((e) => `  ${e.episode}: ${e.firstFailure}`));
  for (const e of r.errors) out.push(`error: ${e.episode || e.file}: ${e.error}`);
  for (const n of r.read.notes) out.push(`note: ${n}`);
  for (const n of r.form.notes) out.push(`note: ${n}`);
  if (r.verify) {
    const v = r.verify;
    out.push('', `verify: ${v.matched} of ${v.compared} episode(s) reproduced bit for bit, ${v.mismatched} mismatched, ${v.notRecordedWithThisVersion} not recorded with this version`);
    for (const e of r.episodes) {
      const m = e.verify?.mismatch;
      if (m) out.push(`  ${e.episode}: first difference at step ${m.seq}, ${m.field}: logged ${m.logged}, relabelled ${m.relabelled}${m.loggedReason ? ` (logged: ${m.loggedReason})` : ''}${m.relabelledReason ? ` (relabelled: ${m.relabelledReason})` : ''}`);
      for (const s of e.verify?.stopped ?? []) out.push(`  ${e.episode}: compared up to step ${s.seq}: ${s.reason}`);
    }
  }
  return out.join('\n');
}

/** Which form of the program computed the steps: "evaluated by rewardColumns: 2,097,152 steps; by reward() per step: 0". */
export function formLine(f: RelabelReport['form']): string {
  return `evaluated by rewardColumns: ${grouped(f.columnSteps)} steps; by reward() per step: ${grouped(f.perStepSteps)}`;
}

/** Where the episodes were read from: "read from columns files: 40; from MCAP files: 2 (2 columns files written)". */
export function readLine(r: RelabelReport['read']): string {
  return `read from columns files: ${r.fromColumns}; from MCAP files: ${r.fromMcap}${r.written > 0 ? ` (${r.written} columns file(s) written)` : ''}`;
}

function verdict(v: NonNullable<RelabelReport['episodes'][number]['verify']>): string {
  if (v.verdict === 'match') return `match (${v.comparedSteps} steps)`;
  if (v.verdict === 'mismatch') return `MISMATCH at step ${v.mismatch?.seq}`;
  return 'other version';
}

export function formatDiff(d: DiffReport): string {
  const out: string[] = [];
  out.push(`A: ${d.a.name} v${d.a.version} (${d.a.filename})`);
  out.push(`B: ${d.b.name} v${d.b.version} (${d.b.filename})`);
  out.push(`${d.episodes} episode(s), ${grouped(d.steps)} steps; ${grouped(d.comparedSteps)} compared (failed: A ${d.failedA}, B ${d.failedB}); ${d.seconds.toFixed(2)} s`);
  out.push('');
  out.push(table(['', 'pearson', 'spearman', 'mean A', 'mean B'], [
    ['per-step total', num(d.perStep.pearson), num(d.perStep.spearman), num(d.perStep.meanA), num(d.perStep.meanB)],
    ['episode return', num(d.returns.pearson), num(d.returns.spearman), num(d.returns.meanA), num(d.returns.meanB)],
  ], new Set([1, 2, 3, 4])));
  out.push('');
  out.push(`canonical distance (0 = same ranking of steps up to positive scale and shift, 1 = reversed): ${num(d.perStep.canonicalDistance)}`);
  const s = d.success;
  out.push(`success agreement: ${num(s.agreement)} (both ${s.both}, only A ${s.onlyA}, only B ${s.onlyB}, neither ${s.neither})`);
  out.push('');
  out.push(table(['term', 'change', 'weight A', 'weight B', 'mean A', 'mean B', 'min..max A', 'min..max B', 'pearson', 'max |A-B|'], d.terms.map((t) => [
    t.term, t.change, num(t.a?.weight), num(t.b?.weight), num(t.a?.mean), num(t.b?.mean),
    t.a ? `${num(t.a.min)}..${num(t.a.max)}` : '-', t.b ? `${num(t.b.min)}..${num(t.b.max)}` : '-', num(t.pearson), num(t.maxAbsDiff),
  ]), new Set([2, 3, 4, 5, 8, 9])));
  for (const e of d.errors) out.push(`error: ${e.file}: ${e.error}`);
  for (const n of d.read.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

/** The store part of `reward check`, as lines the lead's verb can print under its own checks. */
export function formatStoreCheck(r: import('./check.js').StoreCheckReport): string {
  const out: string[] = [];
  out.push(`stored episodes: ${r.name} v${r.version} over ${r.episodes} episode(s), ${grouped(r.steps)} steps: ${r.ok ? 'ok' : 'FAILED'}`);
  out.push(`time per step (batch mode, in the sandbox): ${num(r.timePerStepUs, 3)} µs`);
  out.push(table(['term', 'weight', 'max', 'mean', 'min', 'std', 'expected'], r.terms.map((t) => [
    t.term, num(t.weight), num(t.max), num(t.mean), num(t.min), num(t.std), t.expected ? `[${t.expected[0]}, ${t.expected[1]}]${t.outside ? ' OUTSIDE' : ''}` : '-',
  ]), new Set([1, 2, 3, 4, 5])));
  if (r.baseline) {
    const b = r.baseline;
    out.push(`distance to the active version v${b.version}: canonical ${num(b.canonicalDistance)}, per-step pearson ${num(b.stepPearson)}, return pearson ${num(b.returnPearson)}, success agreement ${num(b.successAgreement)}`);
  } else out.push('distance to the active version: - (no stored episode names one)');
  for (const e of r.errors) out.push(`error: ${e}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}
