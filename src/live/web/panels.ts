import type { HealthReport } from '../health.js';
import { std, type EpisodeBook } from './episodes.js';

/** The page's tables and health cells, rebuilt from the models (a few hundred cells: cheap once a second). */

const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function cell(k: string, v: string, level: 'ok' | 'warn' | 'bad' | '' = ''): string {
  return `<div class="cell ${level}"><div class="k">${k}</div><div class="v">${v}</div></div>`;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Health cells: tick, policy, MQTT and outbox, link, safety. `ageS`: how old the report is. */
export function renderHealth(el: HTMLElement, h: HealthReport | null, ageS: number): void {
  if (!h) {
    el.innerHTML = cell('health', 'no report yet (the robot publishes one a second on <code>health</code>)', 'warn');
    return;
  }
  const t = h.tick;
  const stale = ageS > 3;
  const rateOk = t.hz >= 0.98 * t.nominalHz;
  const period = 1e6 / t.nominalHz;
  const m = h.mqtt;
  el.innerHTML = [
    cell('report', stale ? `${ageS.toFixed(0)} s old` : 'live', stale ? 'bad' : 'ok'),
    cell('tick rate', `${t.hz.toFixed(1)} / ${t.nominalHz} Hz`, rateOk ? 'ok' : 'warn'),
    cell('period error p50 / p99', `${fmt(t.p50ErrorUs, 0)} / ${fmt(t.p99ErrorUs, 0)} µs`, t.p99ErrorUs < 0.1 * period ? 'ok' : 'warn'),
    cell('max error · skipped', `${fmt(t.maxErrorUs, 0)} µs · ${t.skipped}`, t.skipped > 0 ? 'warn' : 'ok'),
    cell('policy', `${esc(h.policy.backend)} · ${fmt(h.policy.lastInferenceUs, 0)} µs · ${fmt(h.policy.inferencesPerS, 0)}/s`, h.policy.errors > 0 ? 'warn' : 'ok'),
    cell('mqtt', `${m.connected ? 'up' : 'DOWN'} (v${m.protocolVersion}) · ${m.reconnects} reconnects`, m.connected ? 'ok' : 'bad'),
    cell('outbox', `${m.pending} steps pending · ${(m.outboxBytes / 1024).toFixed(0)} KiB${m.outboxFull ? ' · FULL' : ''}`, m.outboxFull ? 'bad' : m.pending > 10 * h.tick.nominalHz ? 'warn' : 'ok'),
    cell('published', `${m.published} steps${m.droppedSteps ? ` · ${m.droppedSteps} dropped` : ''}`, m.droppedSteps ? 'bad' : 'ok'),
    cell('link', h.link.up ? 'up' : 'LOST', h.link.up ? 'ok' : 'bad'),
    cell('safety', h.safety.estopped ? 'E-STOP' : !h.safety.armed ? 'disarmed' : h.safety.names.filter((n) => n !== 'no_action_yet').join(', ') || 'ok', h.safety.estopped ? 'bad' : !h.safety.armed ? 'warn' : 'ok'),
    cell('episode', `${h.episode.index} · step ${h.episode.step} · ${h.episode.done} done`),
    // (While connected, lastError is history: e.g. aedes refusing MQTT 5 before the 3.1.1 fallback.)
    ...(m.lastError && !m.connected ? [cell('mqtt error', esc(m.lastError), 'bad')] : []),
  ].join('');
}

export function renderEpisodes(tbody: HTMLElement, book: EpisodeBook, rows = 15): void {
  tbody.innerHTML = book
    .recent(rows)
    .map((e) => {
      const end = e.end;
      const versions = e.rewardVersions.map((v) => `${esc(book.rewardNames.get(v) ?? '?')} ${v.slice(0, 6)}`).join(', ');
      return `<tr data-episode="${esc(e.id)}"><td title="${esc(e.id)}">${esc(e.index !== null ? `#${e.index}` : '')} ${esc(e.id.slice(-9))}</td>`
        + `<td>${end ? end.steps : `${e.seen}…`}</td><td>${fmt(end ? end.return : null)}</td>`
        + `<td class="${end ? (end.success ? 'ok' : 'bad') : ''}">${end ? (end.success ? 'yes' : 'no') : 'running'}</td>`
        + `<td>${end ? esc(end.reason) : ''}</td><td>${versions}</td><td>${end ? end.safetyInterventions : ''}</td></tr>`;
    })
    .join('');
}

export const STATS_EPISODES = 10;

export function renderStats(tbody: HTMLElement, note: HTMLElement, book: EpisodeBook): void {
  const r = book.rolling(STATS_EPISODES);
  note.textContent = `over the ok steps of the last ${r.episodes} episode(s), as rewardd relabel prints them (reward reflection)`;
  tbody.innerHTML = [...r.byTerm]
    .map(([term, s]) => `<tr data-term="${esc(term)}"><td>${esc(term)}</td><td>${fmt(s.count ? s.max : null)}</td><td>${fmt(s.count ? s.mean : null)}</td><td>${fmt(s.count ? s.min : null)}</td><td>${fmt(std(s))}</td><td>${s.count}</td></tr>`)
    .join('');
}
