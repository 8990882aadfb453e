import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `rewardd arm` / `rewardd disarm` as a user runs them (built binary; npm test builds first). */
const BIN = join(process.cwd(), 'bin', 'rewardd.js');
const rewardd = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('rewardd arm / disarm', () => {
  it('document their options and are listed in the verb list', () => {
    const arm = rewardd(['arm', '--help']);
    expect(arm.status).toBe(0);
    expect(arm.stdout).toContain('--key FILE');
    expect(arm.stdout).toContain('Refused by the robot while its e-stop is latched');
    const disarm = rewardd(['disarm', '--help']);
    expect(disarm.status).toBe(0);
    expect(disarm.stdout).not.toContain('--key');
    const verbs = rewardd(['--help']).stdout;
    expect(verbs).toMatch(/\n {2}arm +let a running robot's actions reach its actuators/);
    expect(verbs).toMatch(/\n {2}disarm +hold a running robot's actuators at their stop values/);
  });

  it('refuse bad usage with one line and exit 2, and a dead broker with exit 1', () => {
    const noUrl = rewardd(['arm']);
    expect(noUrl.status).toBe(2);
    expect(noUrl.stderr.trim()).toBe("rewardd arm: --mqtt: expected the robot's broker URL (mqtt://host:port), found nothing");
    const keyed = rewardd(['disarm', '--mqtt', 'mqtt://127.0.0.1:1', '--key', 'k.pem']);
    expect(keyed.status).toBe(2);
    expect(keyed.stderr.trim()).toBe('rewardd disarm: --key: a disarm is never signed (anyone may stop the robot)');
    const dead = rewardd(['disarm', '--mqtt', 'mqtt://127.0.0.1:1', '--timeout-ms', '2000']);
    expect(dead.status).toBe(1);
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/^rewardd disarm: E_MQTT: disarm: expected a broker at mqtt:\/\/127\.0\.0\.1:1, /);
  });
});
