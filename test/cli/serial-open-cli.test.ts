import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp.js';
import { BIN, requireBuild, rewardd } from './bin.js';

/**
 * `rewardd run --link serial:<path>` when the device cannot be opened: one line saying what is
 * wrong (no such device, or permission denied), exit 1, no stack trace and no "expected a HELLO
 * within 3000 ms". Built binary, real open(2) of a missing path and of a file this user may not open.
 */
const MOSQUITTO = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const tmp = tempDirs();
beforeAll(requireBuild);

const runArgs = (link: string, stateDir: string): string[] => ['run', '--link', link, '--mqtt', MOSQUITTO, '--state-dir', stateDir, '--no-status', '--dashboard-port', 'off'];

function expectOneLine(stderr: string, message: RegExp): void {
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(stderr).not.toMatch(/HELLO/);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(message);
}

describe('rewardd run --link serial: a device that cannot be opened', () => {
  it('a missing device: one line naming ENOENT, exit 1, at once', () => {
    const t0 = performance.now();
    const r = rewardd(runArgs('serial:/dev/ttyNOPE', tmp('rewardd-serial-enoent-')));
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /^rewardd run: E_LINK: serial \/dev\/ttyNOPE: expected a serial device, found no such file \(ENOENT\): is the board plugged in\?/);
    // Not the 3 s HELLO wait: the open fails and says so (generous bound for a loaded machine).
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('the johnny-five link on a missing device: the same one line', () => {
    const map = join(process.cwd(), 'firmware-bridge', 'johnny-five', 'rover.johnny-five.json');
    const r = rewardd(runArgs(`johnny-five:/dev/ttyNOPE?map=${map}`, tmp('rewardd-j5-enoent-')));
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /^rewardd run: E_LINK: serial \/dev\/ttyNOPE: expected a serial device, found no such file \(ENOENT\)/);
  });

  it('a device this user may not open: one line naming EACCES, exit 1', () => {
    const dir = tmp('rewardd-serial-eacces-');
    chmodSync(dir, 0o777);
    const dev = join(dir, 'ttyLOCKED');
    writeFileSync(dev, '');
    chmodSync(dev, 0o000);
    const args = runArgs(`serial:${dev}`, join(dir, 'state'));
    let r;
    if (process.getuid?.() === 0) {
      // root opens any file through CAP_DAC_OVERRIDE: run the command without it (and without
      // CAP_DAC_READ_SEARCH), as on a robot whose user is not in dialout. Dropping the capabilities,
      // not the uid: the checkout may be readable by its owner only (a fresh `mktemp -d` clone is 0700).
      const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
      if (!setpriv) throw new Error('running as root without setpriv: cannot drop privileges to test EACCES');
      const s = spawnSync(setpriv, ['--bounding-set=-dac_override,-dac_read_search', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: dir } });
      r = { status: s.status, stderr: s.stderr };
    } else {
      r = rewardd(args);
    }
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, new RegExp(`^rewardd run: E_LINK: serial ${dev.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: expected read and write access, found permission denied \\(EACCES\\): add this user to the device's group`));
  });
});
