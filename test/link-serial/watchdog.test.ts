import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { uniqueLinkPath } from './harness.js';

/**
 * The MCU-side watchdog: the host process is frozen with SIGSTOP (a hung
 * daemon, not a dead one: the port stays open). The firmware must zero the
 * motors by itself within its watchdog time, say so, and report it to the
 * host once it wakes up.
 */
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('MCU watchdog (host build) when the host side is SIGSTOPped', () => {
  it('zeroes the motors within the watchdog, disarms, and the woken host sees FAULT 1 and the tripped bit', async () => {
    const path = uniqueLinkPath();
    const fw = await HostFirmware.start({ rateHz: 200, linkPath: path, watchdogMs: 150 });
    cleanups.push(() => void fw.stop('SIGKILL'));
    const script = fileURLToPath(new URL('./host-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
    const events: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l) as Record<string, unknown>));
    const until = async (what: string, pred: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`expected ${what} within ${ms} ms; child said ${JSON.stringify(events.slice(-3))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    await fw.waitFor(/^event armed/, 10_000, true);
    await until('commands flowing', () => events.filter((e) => e.ev === 'tick').length > 5, 5000);
    let before = await fw.stats();
    for (let i = 0; i < 20 && !(before.armed === 1 && before.motors === 1); i++) {
      await new Promise((r) => setTimeout(r, 50));
      before = await fw.stats();
    }
    expect(before).toMatchObject({ armed: 1, motors: 1 }); // wheels turning while the host is alive

    const tripLine = fw.waitFor(/^event watchdog_trip /, 3000);
    child.kill('SIGSTOP');
    const [, silentMs, limitMs] = (await tripLine).split(' ').slice(1).map(Number) as [number, number, number];
    expect(limitMs).toBe(150);
    // Measured by the firmware on its own clock: tripped after 150 ms, within one loop pass (+ scheduling slack).
    expect(silentMs).toBeGreaterThan(150);
    expect(silentMs).toBeLessThan(150 + 100);
    const after = await fw.stats();
    expect(after).toMatchObject({ armed: 0, motors: 0, trips: before.trips! + 1 });

    child.kill('SIGCONT');
    await until('FAULT watchdog and the tripped bit at the host', () =>
      events.some((e) => e.ev === 'fault' && e.code === 1) && events.some((e) => e.ev === 'tripped'), 5000);
    const fault = events.find((e) => e.ev === 'fault')!;
    expect(String(fault.message)).toMatch(/^watchdog: no host frame for \d+ ms$/);
    await until('the host to see itself disarmed', () => events.at(-1)?.ev === 'tick' && events.at(-1)?.armed === false, 2000);
    // The woken host keeps commanding, but the firmware stays disarmed until an explicit ARM.
    await new Promise((r) => setTimeout(r, 100));
    expect(await fw.stats()).toMatchObject({ armed: 0, motors: 0 });
  });
});
