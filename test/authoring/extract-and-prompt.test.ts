import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractProgram } from '../../src/authoring/extract-code.js';
import { contractText, environmentText, initialMessages, repairPrompt, withoutColumnsForm } from '../../src/authoring/prompt.js';
import { evenlySpaced, hintsFor, series } from '../../src/authoring/reflection.js';
import { loadRobot } from '../../src/core/robot.js';

const PROGRAM = `export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };
export function reward(obs) { return { a: obs.beacon_x }; }
`;

describe('finding the program in an answer', () => {
  it('prose around one fenced block', () => {
    expect(extractProgram(`Sure! Here it is:\n\n\`\`\`javascript\n${PROGRAM}\`\`\`\n\nHope this helps.`)).toEqual({ code: PROGRAM, how: 'fenced block 1 of 1' });
  });

  it('prose with two code blocks: a sketch, then the file: the last block with meta and reward wins', () => {
    const a = extractProgram(`First the idea:\n\`\`\`js\nconst d = hypot(obs.beacon_x, obs.beacon_y);\n\`\`\`\nThe file:\n\`\`\`js\n${PROGRAM}\`\`\`\n`);
    expect(a).toEqual({ code: PROGRAM, how: 'fenced block 2 of 2' });
    const b = extractProgram(`\`\`\`js\n${PROGRAM}\`\`\`\nand a test you can run:\n\`\`\`bash\nrewardd reward check x.reward.js\n\`\`\``);
    expect(b?.how).toBe('fenced block 1 of 1');
  });

  it('a program split over blocks is joined; no fence at all; an unterminated fence (token limit)', () => {
    const [m, r] = PROGRAM.split('\n');
    expect(extractProgram(`\`\`\`js\n${m}\n\`\`\`\nthen\n\`\`\`js\n${r}\n\`\`\``)).toEqual({ code: `${m}\n\n${r}\n`, how: '2 fenced blocks joined' });
    expect(extractProgram(`Here you go.\n${PROGRAM}That is all.`)).toEqual({ code: PROGRAM, how: 'unfenced' });
    expect(extractProgram(`\`\`\`ts\n${PROGRAM}`)).toEqual({ code: PROGRAM, how: 'fenced block 1 of 1' });
  });

  it('no program: null (the caller says so to the model)', () => {
    expect(extractProgram('I cannot help with that.')).toBeNull();
    expect(extractProgram('```python\ndef compute_reward(self):\n  return 0\n```')).toBeNull();
  });
});

describe('the prompt', () => {
  const robot = loadRobot('robots/rover.json');
  const doc = readFileSync('docs/reward-programs.md', 'utf8');

  it('the contract is docs/reward-programs.md without its rover table and its example (the anchors it cuts at still exist)', () => {
    const c = contractText(doc);
    expect(c.length).toBeLessThan(doc.length);
    expect(c).toContain('## The standard library');
    expect(c).toContain('the observations of the robot description below');
    expect(c).not.toContain('| `battery_voltage` | V |');
    expect(c).not.toContain('## A complete example');
  });

  it('the environment abstraction is the robot file: every field with unit, range and description, no simulator source', () => {
    const t = environmentText(robot);
    for (const f of [...robot.robot.observations, ...robot.robot.actions]) expect(t).toContain(`.${f.name}\` | ${f.unit} | ${f.min} to ${f.max} |`);
    expect(t).toContain('yaw rate (positive turns left)');
    expect(t).toContain('wheel_radius_m = 0.035');
    const m = initialMessages({ task: 'drive to the beacon and stop', robot, example: { path: 'rewards/reach-beacon.reward.js', source: 'EXAMPLE-SOURCE' } });
    expect(m.map((x) => x.role)).toEqual(['system', 'user']);
    expect(m[0]!.content).toContain('## Rules the sandbox enforces');
    expect(m[1]!.content).toMatch(/EXAMPLE-SOURCE[\s\S]*## The task\n\ndrive to the beacon and stop/);
    expect(m.map((x) => x.content).join('')).not.toMatch(/RoverModel|rover-model\.ts/);
  });

  it('the repair turn carries the diagnostics as the checker prints them', () => {
    const p = repairPrompt([{ severity: 'error', code: 'E_REWARD_EXPORTS', file: '1.reward.js', line: 3, column: 7, message: 'obs.beacon_dist: expected one of the robot\'s observations', lineText: '  const d = obs.beacon_dist;' }]);
    expect(p).toContain("1.reward.js:3:7: error E_REWARD_EXPORTS: obs.beacon_dist: expected one of the robot's observations\n    const d = obs.beacon_dist;");
  });
});

describe('reflection hints', () => {
  it('flat term, dominating term and success near zero; none for a healthy run', () => {
    const terms = [
      { term: 'progress', weight: 1, ...series([0.1, 0.3, 0.5]) },
      { term: 'alive', weight: 50, ...series([1, 1, 1]) },
    ];
    const h = hintsFor(terms, 0.02, 'success rate');
    expect(h.some((x) => x.startsWith('flat term: "alive" is 1 on every step'))).toBe(true);
    expect(hintsFor([{ term: 'calm', weight: 1, ...series([0.5, 0.501, 0.502]) }], 0.5, 'x')).toEqual(['flat term: "calm" stays at about 0.501 throughout (spread 0.002); training cannot optimise it as written.']);
    expect(h.some((x) => x.startsWith('dominating term: "alive"'))).toBe(true);
    expect(h.some((x) => x.startsWith('success near zero'))).toBe(true);
    expect(hintsFor([{ term: 'progress', weight: 1, ...series([0.1, 0.3]) }, { term: 'heading', weight: 1, ...series([0.2, 0.6]) }], 0.9, 'x')).toEqual([]);
    expect(evenlySpaced(31, 10)).toEqual([0, 3, 7, 10, 13, 17, 20, 23, 27, 30]);
    expect(evenlySpaced(3, 10)).toEqual([0, 1, 2]);
  });

  it('the example shown to the model is reward() alone: the shipped rewardColumns and the comments about it are cut', () => {
    const shipped = readFileSync(new URL('../../rewards/reach-beacon.reward.js', import.meta.url), 'utf8');
    expect(shipped).toContain('export function rewardColumns(');
    const shown = withoutColumnsForm(shipped);
    expect(shown).not.toContain('rewardColumns');
    for (const part of ['export const meta', 'export function reward(obs, action, ctx)', 'export function success(', 'export function done(', 'const DISTANCE_SHAPE']) expect(shown).toContain(part);
    // Everything else is kept line for line, and a program without the export is left alone.
    expect(shipped.split('\n').filter((l) => !shown.split('\n').includes(l)).every((l) => l === '' || l === '//' || /rewardColumns|^\s|^}|^\/\/|^export function rewardColumns/.test(l))).toBe(true);
    expect(withoutColumnsForm(shown)).toBe(shown);
    const m = initialMessages({ task: 't', robot: loadRobot('robots/rover.json'), example: { path: 'rewards/reach-beacon.reward.js', source: shipped } });
    expect(m[1]!.content).not.toContain('rewardColumns');
  });
});
