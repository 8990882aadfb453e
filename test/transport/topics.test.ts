import { describe, expect, it } from 'vitest';
import { episodeFilter, episodeTopics, parseEpisodeTopic, sharedFilter } from '../../src/transport/topics.js';

describe('topic tree', () => {
  it('names every topic of DESIGN.md under the prefix and robot', () => {
    const t = episodeTopics('rewardd/v1', 'rover-1');
    expect(t.status).toBe('rewardd/v1/rover-1/status');
    expect(t.episodeStart('e1')).toBe('rewardd/v1/rover-1/episodes/e1/start');
    expect(t.episodeSteps('e1')).toBe('rewardd/v1/rover-1/episodes/e1/steps');
    expect(t.episodeEnd('e1')).toBe('rewardd/v1/rover-1/episodes/e1/end');
    expect(t.rewardActive).toBe('rewardd/v1/rover-1/reward/active');
    expect(t.rewardSet).toBe('rewardd/v1/rover-1/reward/set');
    expect(t.estop).toBe('rewardd/v1/rover-1/estop');
    expect(t.live).toBe('rewardd/v1/rover-1/live');
  });
  it('parses what it builds and nothing else', () => {
    const t = episodeTopics('a/b', 'r');
    expect(parseEpisodeTopic('a/b', t.episodeSteps('ep.7'))).toEqual({ robot: 'r', episode: 'ep.7', kind: 'steps' });
    expect(parseEpisodeTopic('a/b', t.status)).toBeUndefined();
    expect(parseEpisodeTopic('a/b', 'a/b/r/episodes/e/other')).toBeUndefined();
  });
  it('rejects wildcards and separators in ids and prefixes', () => {
    expect(() => episodeTopics('rewardd/v1', 'a/b')).toThrow(/E_CONFIG/);
    expect(() => episodeTopics('rewardd/v1', 'r').episodeStart('e+')).toThrow(/E_CONFIG/);
    expect(() => episodeTopics('rewardd/#', 'r')).toThrow(/E_CONFIG/);
    expect(() => episodeTopics('/x/', 'r')).toThrow(/E_CONFIG/);
  });
  it('builds recorder filters, shared or not', () => {
    expect(episodeFilter('rewardd/v1')).toBe('rewardd/v1/+/episodes/#');
    expect(episodeFilter('rewardd/v1', 'r1')).toBe('rewardd/v1/r1/episodes/#');
    expect(sharedFilter('g', episodeFilter('p'))).toBe('$share/g/p/+/episodes/#');
  });
});
