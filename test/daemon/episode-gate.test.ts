import { describe, expect, it } from 'vitest';
import { DEFAULT_CLEAR_TICKS, EpisodeGate, describeGate, parseResetMode, resetModeLabel, type ResetMode } from '../../src/daemon/episode-gate.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';

const gate = (mode: ResetMode, min = 1) => {
  const warnings: string[] = [];
  return { g: new EpisodeGate(mode, min, (l) => warnings.push(l)), warnings };
};

/** Ends the first episode at `t` ms and returns the gate in its reset phase. */
const afterFirst = (mode: ResetMode, t = 1000, min = 1) => {
  const r = gate(mode, min);
  expect(r.g.mayStart(0)).toBe(true);
  expect(r.g.episodeStarted('ep0', 0)).toBeNull();
  r.g.episodeEnded(t);
  return r;
};

describe('--reset', () => {
  it('auto is immediate on the sim and operator on real links', () => {
    expect(parseResetMode('auto', 'sim')).toEqual({ kind: 'immediate' });
    expect(parseResetMode('auto', 'serial:/dev/ttyACM0')).toEqual({ kind: 'operator' });
    expect(parseResetMode('auto', 'johnny-five:/dev/ttyACM0')).toEqual({ kind: 'operator' });
    expect(parseResetMode('immediate', 'serial:/dev/x')).toEqual({ kind: 'immediate' });
  });

  it('reads until-clear[:K] and pause:MS', () => {
    expect(parseResetMode('until-clear', 'sim')).toEqual({ kind: 'until-clear', ticks: DEFAULT_CLEAR_TICKS });
    expect(parseResetMode('until-clear:7', 'sim')).toEqual({ kind: 'until-clear', ticks: 7 });
    expect(parseResetMode('pause:2500', 'sim')).toEqual({ kind: 'pause', ms: 2500 });
    expect(resetModeLabel(parseResetMode('until-clear:7', 'sim'))).toBe('until-clear:7');
  });

  it.each(['pause', 'pause:0', 'until-clear:0', 'until-clear:x', 'operatr', '', 'pause:-5'])('refuses %j with what was expected', (v) => {
    expect(() => parseResetMode(v, 'sim')).toThrow(/--reset: expected auto \| immediate \| operator \| until-clear\[:K\] \| pause:MS .*found/);
  });

  it('is checked with the other run options, and --min-episode-steps too', () => {
    expect(normaliseRunConfig({}).reset).toBe('auto');
    expect(normaliseRunConfig({}).minEpisodeSteps).toBe(10);
    expect(() => normaliseRunConfig({ reset: 'later' })).toThrow(/--reset: expected/);
    expect(() => normaliseRunConfig({ minEpisodeSteps: 0 })).toThrow(/--min-episode-steps: expected an integer in \[1, /);
  });
});

describe('EpisodeGate', () => {
  it('immediate: the next episode may start at once, and its start says so', () => {
    const { g } = afterFirst({ kind: 'immediate' }, 1000);
    expect(g.phase).toBe('ready');
    expect(g.mayStart(1000)).toBe(true);
    expect(g.episodeStarted('ep1', 1005)).toEqual({ mode: 'immediate', endedBy: 'immediate', waitedMs: 5, ticks: 0, evaluations: 0 });
    expect(g.next({ signer: null, reason: 'x' })).toMatchObject({ ok: false, error: expect.stringMatching(/found --reset immediate/) });
  });

  it('operator: holds through any number of ticks until next, then starts once', () => {
    const { g } = afterFirst({ kind: 'operator' }, 1000);
    for (let t = 1000; t < 61_000; t += 10) expect(g.mayStart(t)).toBe(false);
    expect(g.status(31_000)).toEqual({ phase: 'resetting', mode: 'operator', waitingFor: 'next', forMs: 30_000 });
    expect(describeGate(g.status(31_000))).toBe('resetting (waiting for next, 30 s)');
    expect(g.next({ signer: 'ab12', reason: 'put back' })).toEqual({ ok: true, detail: 'the next episode starts at the next tick' });
    // A second "next" before the tick that starts the episode changes nothing.
    expect(g.next({ signer: 'ab12', reason: 'again' })).toMatchObject({ ok: true, detail: expect.stringMatching(/already starting/) });
    expect(g.mayStart(61_000)).toBe(true);
    expect(g.episodeStarted('ep1', 61_000)).toEqual({ mode: 'operator', endedBy: 'next', waitedMs: 60_000, ticks: 6000, evaluations: 0, signer: 'ab12', reason: 'put back' });
    expect(g.phase).toBe('running');
    expect(g.mayStart(61_010)).toBe(false);
  });

  it('operator: next is refused while an episode runs', () => {
    const { g } = gate({ kind: 'operator' });
    g.episodeStarted('20261204T000000Z-aaaa-0000', 0);
    const v = g.next({ signer: null, reason: '' });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.error).toMatch(/expected the robot between episodes, found episode 20261204T000000Z-aaaa-0000 running/);
  });

  it('until-clear:K: needs K ok evaluations in a row with success() and done() false; anything else restarts the count', () => {
    const { g } = afterFirst({ kind: 'until-clear', ticks: 3 });
    expect(g.evaluatesDuringReset).toBe(true);
    g.observe(true, true, false); // still at the goal
    g.observe(true, false, false);
    g.observe(true, false, false);
    g.observe(true, false, true); // done() true: not clear
    g.observe(true, false, false);
    g.observe(false, false, false); // a failed evaluation says nothing: not clear either
    g.observe(true, false, false);
    g.observe(true, false, false);
    expect(g.status(2000).waitingFor).toBe('success() and done() false for 3 ticks (2 so far)');
    expect(g.mayStart(2000)).toBe(false);
    g.observe(true, false, false);
    expect(g.mayStart(2010)).toBe(true);
    expect(g.episodeStarted('ep1', 2010)).toMatchObject({ mode: 'until-clear:3', endedBy: 'clear', evaluations: 9, ticks: 1 });
    // Results arriving after the start belong to no reset phase.
    g.observe(true, false, false);
    g.episodeEnded(3000);
    expect(g.status(3000).waitingFor).toMatch(/\(0 so far\)/);
  });

  it('pause:MS: opens after MS of monotonic time, whatever the ticks', () => {
    const { g } = afterFirst({ kind: 'pause', ms: 2000 }, 1000);
    expect(g.evaluatesDuringReset).toBe(false);
    expect(g.mayStart(1500)).toBe(false);
    expect(g.status(1500).waitingFor).toBe('the pause to end, 1.5 s left');
    expect(describeGate(g.status(1500))).toBe('resetting (waiting for the pause to end, 1.5 s left)');
    expect(g.mayStart(2999)).toBe(false);
    expect(g.mayStart(3000)).toBe(true);
    expect(g.episodeStarted('ep1', 3000)).toMatchObject({ endedBy: 'pause', waitedMs: 2000, ticks: 2 });
  });

  it('a next also ends a pause or an until-clear phase early (the operator overrides)', () => {
    const { g } = afterFirst({ kind: 'pause', ms: 60_000 });
    expect(g.next({ signer: null, reason: 'go' }).ok).toBe(true);
    expect(g.mayStart(1001)).toBe(true);
    expect(g.episodeStarted('ep1', 1001)).toMatchObject({ endedBy: 'next', signer: null, reason: 'go' });
  });

  it('the minimum length holds back early success()/done() ends, warns once per run and counts per episode', () => {
    const { g, warnings } = gate({ kind: 'immediate' }, 10);
    for (let e = 0; e < 3; e++) {
      g.episodeStarted(`ep${e}`, e);
      for (let i = 0; i < 9; i++) expect(g.holdsEnd(i, 'success')).toBe(true);
      expect(g.holdsEnd(9, 'success')).toBe(false);
      expect(g.heldBack).toBe(9);
      g.episodeEnded(e);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/episode ep0: success\(\) was already true at step 0: the world did not reset between episodes.*before step 10 \(--min-episode-steps\).*--reset operator, until-clear\[:K\] or pause:MS/);
  });

  it('a minimum of 1 never holds anything back', () => {
    const { g, warnings } = gate({ kind: 'immediate' }, 1);
    g.episodeStarted('ep0', 0);
    expect(g.holdsEnd(0, 'done')).toBe(false);
    expect(warnings).toHaveLength(0);
    expect(() => new EpisodeGate({ kind: 'immediate' }, 0, () => {})).toThrow(/--min-episode-steps: expected an integer >= 1, found 0/);
  });

  it('the first episode starts without a reset phase and its start has no reset summary', () => {
    const { g } = gate({ kind: 'operator' });
    expect(g.status(0)).toMatchObject({ phase: 'ready', forMs: 0 });
    expect(g.mayStart(0)).toBe(true);
    expect(g.episodeStarted('ep0', 0)).toBeNull();
  });
});
