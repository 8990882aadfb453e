/**
 * report.md of `reward refine`: the same facts as report.json, for a person:
 * the outcome, a table of every candidate, the best one's lineage, and every
 * candidate's reflection.
 */
import type { RefineCandidate, RefineReport } from './refine.js';
import { fmt } from './reflection.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function evalCells(c: RefineCandidate): { sim: string; store: string; distance: string } {
  const sim = c.evaluations.find((e) => e.mode === 'sim');
  const store = c.evaluations.find((e) => e.mode === 'store');
  const held = sim?.details?.heldOut as { successes: number; episodes: number } | undefined;
  const d = store?.details?.distanceFromCurrent as number | null | undefined;
  return {
    sim: sim ? (held ? `${held.successes}/${held.episodes}` : 'failed') : '',
    store: store ? (store.fitness !== null ? fmt(store.fitness) : 'failed') : '',
    distance: d === undefined || d === null ? '' : fmt(d),
  };
}

export function lineage(r: RefineReport, id: string): string[] {
  const byId = new Map(r.candidates.map((c) => [c.id, c]));
  const chain: string[] = [];
  for (let c = byId.get(id); c; c = c.parent !== null ? byId.get(c.parent) : undefined) {
    chain.unshift(c.id);
    if (chain.length > r.candidates.length) break;
  }
  return chain;
}

export function refineMarkdown(r: RefineReport): string {
  const sims = r.candidates.some((c) => c.evaluations.some((e) => e.mode === 'sim'));
  const stores = r.candidates.some((c) => c.evaluations.some((e) => e.mode === 'store'));
  const lines = [
    `# reward refine: ${r.task}`,
    '',
    `- robot: ${r.robot.name} (${r.robot.path}, ${r.robot.hash})`,
    ...r.evaluators.map((e) => `- fitness from ${e}`),
    `- model: ${r.llm ? `${r.llm.model} at ${r.llm.endpoint} (temperature ${r.llm.parameters.temperature}, max_tokens ${r.llm.parameters.max_tokens}; ${r.llm.requests} request(s), ${r.llm.attempts} attempt(s), ${r.llm.tokens} tokens)` : 'none (iteration 0 only)'}`,
    `- ${r.iterations} iteration(s) × ${r.samples} sample(s); started ${r.startedAt}, ${r.finishedAt ? `finished ${r.finishedAt}` : 'running'}${r.interrupted ? ' (INTERRUPTED: what is here was done before Ctrl-C)' : ''}`,
    '',
    r.best
      ? `**Best: ${r.best.id}, fitness ${fmt(r.best.fitness)}** (reward version ${r.best.version ?? '?'}): \`${r.best.file}\`, ready for \`rewardd reward push ${r.best.file} --robot ID\`. Lineage: ${lineage(r, r.best.id).join(' → ')}.`
      : '**No candidate could be evaluated.**',
    '',
    '| iteration | best | fitness |',
    '|---|---|---|',
    ...r.bestPerIteration.map((b) => `| ${b.iteration} | ${b.id ?? '-'} | ${b.fitness === null ? '-' : fmt(b.fitness)} |`),
    '',
    `| candidate | parent | file | checked | repairs | terms | ${sims ? 'held-out success | ' : ''}${stores ? 'Spearman | distance from current | ' : ''}fitness | seconds (LLM / evaluate) | note |`,
    `|---|---|---|---|---|---|${sims ? '---|' : ''}${stores ? '---|---|' : ''}---|---|---|`,
    ...r.candidates.map((c) => {
      const e = evalCells(c);
      return `| ${c.id}${r.best?.id === c.id ? ' **best**' : ''} | ${c.parent ?? (c.from ? cell(c.from) : '-')} | ${c.file ?? '-'} | ${c.checked ? 'yes' : 'no'} | ${c.repairs} | ${cell(c.terms.join(', ') || '-')} | ${sims ? `${e.sim || '-'} | ` : ''}${stores ? `${e.store || '-'} | ${e.distance || '-'} | ` : ''}${c.fitness === null ? '-' : fmt(c.fitness)} | ${c.seconds.llm.toFixed(1)} / ${c.seconds.evaluate.toFixed(1)} | ${cell((c.error ?? '').split('\n')[0]!.slice(0, 160))} |`;
    }),
    '',
    '## Reflections',
    '',
    'What each evaluated candidate\'s training or relabelling showed (sent to the model when the candidate was the best so far).',
  ];
  for (const c of r.candidates) {
    const texts = c.evaluations.map((e) => e.text ?? `${e.mode}: ${e.error ?? 'no result'}`);
    if (texts.length === 0) continue;
    lines.push('', `### ${c.id}${c.name ? ` (${c.name})` : ''}`, '', '```', ...texts, '```');
  }
  return `${lines.join('\n')}\n`;
}
