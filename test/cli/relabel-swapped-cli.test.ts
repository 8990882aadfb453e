import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp.js';
import { requireBuild, rewarddAsync, startCli } from './bin.js';

/**
 * A reward version hot-swapped in mid-episode (and never starting one) is relabelled by its
 * hash: the daemon logs its source in the episode's end record, the recorder keeps it, and
 * `relabel --reward <hash>` finds it there. All built binaries, on Mosquitto: run, record,
 * reward push, episodes show, relabel (--verify: bit for bit against the steps it scored live).
 */
const MOSQUITTO = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const tmp = tempDirs();
beforeAll(requireBuild);

// No success() or done(): the episode runs until the daemon stops, so the swapped-in version never starts one.
const program = (name: string, weight: number): string =>
  `export const meta = { name: '${name}', goal: 'close in on the beacon', weights: { closing: ${weight}, spin: -0.1 } };\n` +
  `export function reward(obs, action) {\n  return { closing: -Math.hypot(obs.beacon_x, obs.beacon_y), spin: Math.abs(action.wheel_left - action.wheel_right) };\n}\n`;

describe('relabel --reward <hash> of a version swapped in mid-episode', () => {
  it('is found in the stored sources, relabels, and verifies bit for bit', async () => {
    const dir = tmp('rewardd-swap-relabel-');
    const store = join(dir, 'store');
    const first = join(dir, 'first.reward.js');
    const second = join(dir, 'second.reward.js');
    writeFileSync(first, program('first', 1));
    writeFileSync(second, program('second', 2));
    const prefix = `rewardd-swap-${Math.random().toString(16).slice(2, 8)}/v1`;
    const recorder = startCli(['record', '--mqtt', MOSQUITTO, '--prefix', prefix, '--store', store]);
    const robot = startCli(['run', '--mqtt', MOSQUITTO, '--prefix', prefix, '--auth', 'open', '--reward', first, '--state-dir', join(dir, 'state'), '--no-status', '--dashboard-port', 'off', '--step-limit', '1000000', '--no-watch-reward', '--hz', '100']);
    let swapped = '';
    try {
      await robot.waitFor(/running rover .* with reward "first"/, 'the robot to start');
      await new Promise((r) => setTimeout(r, 1500)); // the episode is under way with "first"
      const push = await rewarddAsync(['reward', 'push', second, '--robot', 'rover', '--mqtt', MOSQUITTO, '--prefix', prefix, '--timeout', '60']);
      expect(push.stderr).toBe('');
      expect(push.status).toBe(0);
      swapped = /version ([0-9a-f]{12})/.exec(push.stdout)![1]!;
      await robot.waitFor(new RegExp(`reward version ${swapped} active`), 'the swap');
      await new Promise((r) => setTimeout(r, 1500)); // steps scored by "second"
    } finally {
      expect(await robot.stop()).toBe(0);
    }
    expect(robot.err().match(/episode \S+ ended: shutdown/g)).toHaveLength(1); // one episode: "second" never started one
    const episode = /episode (\S+) ended: shutdown/.exec(robot.err())![1]!;
    await recorder.waitFor(new RegExp(`stored rover/${episode}: \\d+ steps`), 'the recorder to store the episode', 60_000);
    expect(await recorder.stop()).toBe(0);

    const show = await rewarddAsync(['episodes', 'show', episode, '--store', store]);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`versions: [0-9a-f]{12}, ${swapped}\\)`));
    expect(show.stdout).not.toMatch(new RegExp(`reward +${swapped}`)); // not the version that started it

    const relabel = await rewarddAsync(['relabel', '--store', store, '--reward', swapped, '--verify']);
    expect(relabel.stderr).not.toMatch(/found neither/);
    expect(relabel.status).toBe(0);
    expect(relabel.stdout).toContain(swapped);
    expect(relabel.stdout).toMatch(/verif/i);
  });
});
