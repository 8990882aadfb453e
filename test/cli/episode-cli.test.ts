import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `rewardd episode next` as a user runs it (built binary; npm test builds first). The robot's side is in test/link-serial/episode-reset.test.ts. */
const BIN = join(process.cwd(), 'bin', 'rewardd.js');
const rewardd = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('rewardd episode next', () => {
  it('documents its options, and is in the verb list; run documents --reset and --min-episode-steps', () => {
    const h = rewardd(['episode', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: rewardd episode next --mqtt URL [options]');
    expect(h.stdout).toContain('--key FILE');
    expect(h.stdout).toContain('Exit 0 when the robot accepted it, 1 when it refused or did not');
    expect(rewardd(['--help']).stdout).toMatch(/\n {2}episode +episode next: end a running robot's reset phase/);
    const run = rewardd(['run', '--help']).stdout;
    expect(run).toMatch(/--reset <value> +what happens between episodes/);
    expect(run).toMatch(/--min-episode-steps <n> +a success\(\) or done\(\) before this many steps/);
  });

  it('refuses bad usage with one line and exit 2, a dead broker with exit 1', () => {
    const none = rewardd(['episode']);
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toBe('rewardd episode: expected "next", found nothing (see --help)');
    const noUrl = rewardd(['episode', 'next']);
    expect(noUrl.status).toBe(2);
    expect(noUrl.stderr.trim()).toBe("rewardd episode: --mqtt: expected the robot's broker URL (mqtt://host:port), found nothing");
    const badRun = rewardd(['run', '--reset', 'later', '--no-status']);
    expect(badRun.stderr.trim().split('\n')).toHaveLength(1);
    expect(badRun.stderr).toMatch(/--reset: expected auto \| immediate \| operator \| until-clear\[:K\] \| pause:MS .*found "later"/);
    const dead = rewardd(['episode', 'next', '--mqtt', 'mqtt://127.0.0.1:1', '--timeout-ms', '2000']);
    expect(dead.status).toBe(1);
    expect(dead.stderr.trim().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/^rewardd episode: E_MQTT: episode next: expected a broker at mqtt:\/\/127\.0\.0\.1:1, /);
  });
});
