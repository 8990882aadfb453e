import { afterEach, describe, expect, it } from 'vitest';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { SerialLink } from '../../src/link/serial-link.js';
import { parseSerialLinkSpec } from '../../src/link/serial-options.js';
import { channelFieldNames } from '../../src/protocol/index.js';
import { loadRobot } from '../../src/core/robot.js';
import { channelTableMismatches } from '../../src/protocol/robot-check.js';
import { RecordingSink, sleep, uniqueLinkPath } from './harness.js';

/**
 * The serial link against the host build of the firmware through its real
 * pty: the same Bridge code as the Arduino sketch, a real tty, serialport's
 * native binding. Nothing here is mocked.
 */
const started: HostFirmware[] = [];
const links: SerialLink[] = [];
async function firmware(opts: Parameters<typeof HostFirmware.start>[0]): Promise<HostFirmware> {
  const fw = await HostFirmware.start(opts);
  started.push(fw);
  return fw;
}
function link(path: string, extra: Partial<ConstructorParameters<typeof SerialLink>[0]> = {}): SerialLink {
  const l = new SerialLink({ path, rxSilenceMs: 300, reconnectMinMs: 50, reconnectMaxMs: 200, ...extra });
  links.push(l);
  return l;
}
afterEach(async () => {
  for (const l of links.splice(0)) await l.close();
  for (const f of started.splice(0)) await f.stop('SIGKILL');
});

const MOTOR_L = 12; // motor_applied_0 / _1: the firmware echoes what it applies
const MOTOR_R = 13;

describe('SerialLink against the host firmware on a pty', () => {
  it('learns the table from HELLO, streams every sample without a gap, and the firmware applies commands only while armed', async () => {
    const path = uniqueLinkPath();
    const fw = await firmware({ rateHz: 500, linkPath: path });
    const sink = new RecordingSink();
    const l = link(path);
    const hello = await l.open(sink);
    expect(hello.bootId).toBe(fw.bootId);
    expect(channelFieldNames(hello.channels).slice(0, 12)).toEqual(loadRobot('robots/rover.json').robot.observations.map((f) => f.name));
    expect(channelTableMismatches(hello.channels, loadRobot('robots/rover.json').robot)).toEqual([]);

    l.sendCommand(Float32Array.of(0.9, 0.9)); // not armed: held on the host
    await sink.until('samples after HELLO', () => sink.samples().length >= 20);
    l.arm();
    const tCmd = Date.now();
    while (Date.now() - tCmd < 600) {
      l.sendCommand(Float32Array.of(0.5, -0.25));
      await sleep(20);
    }
    // Any echo will do: on a loaded machine a late host heartbeat may let the MCU watchdog stop the wheels afterwards.
    await sink.until('a sample echoing the command', () => sink.samples().some((s) => s.values[MOTOR_L] === 16384));
    await sink.until('300 samples', () => sink.samples().length > 300);
    const echo = sink.samples().find((s) => s.values[MOTOR_L] === 16384)!;
    expect([echo.values[MOTOR_L], echo.values[MOTOR_R]]).toEqual([16384, -8192]);
    expect(sink.samples()[0]!.values[MOTOR_L]).toBe(0);

    // No frame lost after HELLO: sequence numbers are contiguous.
    const seqs = sink.frames.map((f) => f.seq);
    const holes = seqs.slice(1).filter((s, i) => s !== ((seqs[i]! + 1) & 0xffff));
    expect(holes).toEqual([]);
    const c = l.counters();
    expect(c).toMatchObject({ crcErrors: 0, malformed: 0, oversize: 0, lost: 0 });
    expect(c.commandsHeld).toBeGreaterThanOrEqual(1);

    const st = await fw.stats();
    expect(st.applied).toBeGreaterThan(10);
    expect(st.rx_crc).toBe(0);
    expect(st.ignored).toBe(0); // the held command never reached the MCU
  });

  it('firmware killed: onLost within the silence timeout, then a restarted firmware is a reboot and nothing moves until re-armed', async () => {
    const path = uniqueLinkPath();
    const fw1 = await firmware({ rateHz: 200, linkPath: path, bootId: 0x1111 });
    const sink = new RecordingSink();
    const l = link(path, { rxSilenceMs: 300 });
    await l.open(sink);
    l.arm();
    l.sendCommand(Float32Array.of(0.3, 0.3));
    await sink.until('an armed heartbeat', () => sink.frames.some((f) => f.type === 'HEARTBEAT' && (f.status & 1) === 1));

    const killedAt = Date.now();
    await fw1.stop('SIGKILL'); // like pulling the USB cable: no goodbye
    await sink.until('onLost', () => sink.events.some((e) => e.kind === 'lost'), 3000);
    const lost = sink.events.find((e) => e.kind === 'lost')!;
    expect(lost.at - killedAt).toBeLessThanOrEqual(300 + 400); // the pty hangs up at once; silence (300 ms) is the backstop
    expect(l.isArmed).toBe(false);

    const fw2 = await firmware({ rateHz: 200, linkPath: path, bootId: 0x2222 });
    await sink.until('a second HELLO', () => sink.events.filter((e) => e.kind === 'hello').length === 2, 5000);
    const hellos = sink.events.filter((e) => e.kind === 'hello');
    expect(hellos.map((e) => e.kind === 'hello' && [e.hello.bootId, e.bootChanged])).toEqual([[0x1111, false], [0x2222, true]]);
    expect(l.counters()).toMatchObject({ reboots: 1, lost: 1 });

    // Commands before re-arming are held; the rebooted firmware applies nothing.
    const n = sink.samples().length;
    for (let i = 0; i < 10; i++) {
      l.sendCommand(Float32Array.of(0.8, 0.8));
      await sleep(10);
    }
    await sink.until('samples from the new firmware', () => sink.samples().length > n + 10);
    expect(sink.samples().slice(n).every((s) => s.values[MOTOR_L] === 0)).toBe(true);
    expect((await fw2.stats()).applied).toBe(0);

    l.arm();
    for (let i = 0; i < 10; i++) {
      l.sendCommand(Float32Array.of(0.8, 0.8));
      await sleep(10);
    }
    await sink.until('motion after re-arm', () => sink.samples().some((s) => s.values[MOTOR_L] === Math.round(0.8 * 32767)));
  });

  it('firmware frozen (SIGSTOP: no bytes and no hang-up, like an unplug without a close event): lost by silence, then back with the same boot', async () => {
    const path = uniqueLinkPath();
    const fw = await firmware({ rateHz: 200, linkPath: path, bootId: 0x3333 });
    const sink = new RecordingSink();
    const l = link(path, { rxSilenceMs: 250 });
    await l.open(sink);
    l.arm();
    await sink.until('samples', () => sink.samples().length > 20);
    const frozenAt = Date.now();
    fw.process.kill('SIGSTOP');
    try {
      await sink.until('onLost by silence', () => sink.events.some((e) => e.kind === 'lost'), 3000);
    } finally {
      fw.process.kill('SIGCONT');
    }
    const lost = sink.events.find((e) => e.kind === 'lost');
    expect(lost?.kind === 'lost' && lost.reason).toMatch(/no frame from the MCU for \d+ ms \(limit 250 ms\)/);
    expect(lost!.at - frozenAt).toBeGreaterThanOrEqual(250);
    expect(l.isArmed).toBe(false);
    await sink.until('HELLO after the thaw', () => sink.events.filter((e) => e.kind === 'hello').length === 2, 5000);
    const again = sink.events.filter((e) => e.kind === 'hello')[1]!;
    expect(again.kind === 'hello' && [again.hello.bootId, again.bootChanged]).toEqual([0x3333, false]);
    expect(l.counters()).toMatchObject({ lost: 1, reboots: 0 });
    expect(l.counters().connects).toBeGreaterThanOrEqual(2);
  });

  it('garbage, truncated frames and flipped bits injected on the wire: each counted once, resynced, no frame invented', async () => {
    const path = uniqueLinkPath();
    const fw = await firmware({ rateHz: 500, linkPath: path, corruptEvery: 7, corruptCount: 30 });
    const sink = new RecordingSink();
    const l = link(path);
    await l.open(sink);
    await fw.waitFor(/^event corrupt_done 30/, 10_000, true);
    const n = sink.frames.length;
    await sink.until('frames after the last corruption', () => sink.frames.length > n + 20);
    const st = await fw.stats();
    expect(st.corrupt_flip + st.corrupt_cut + st.corrupt_junk).toBe(30);
    const c = l.counters();
    // Every damaged span is one error and one resync; only flips and cuts lose frames (a cut swallows the next frame).
    expect(c.crcErrors! + c.malformed! + c.oversize!).toBe(30);
    expect(c.resyncs).toBe(30);
    expect(c.gaps).toBe(st.corrupt_flip! + 2 * st.corrupt_cut!);
    expect(c.duplicates).toBe(0);
    expect(c.lost).toBe(0);
    // What was delivered is exactly the undamaged stream: seq holes only where frames were damaged.
    const seqs = sink.frames.map((f) => f.seq);
    const missing = seqs.slice(1).reduce((m, s, i) => m + ((s - seqs[i]! - 1) & 0xffff), 0);
    expect(missing).toBe(c.gaps);
  });

  it('open() rejects with E_LINK when nothing answers, and bad options fail early', async () => {
    const l = link('/dev/null', { openTimeoutMs: 300 });
    await expect(l.open(new RecordingSink())).rejects.toThrow(/E_LINK: serial \/dev\/null: expected a HELLO within 300 ms/);
    expect(() => parseSerialLinkSpec('serial:/dev/ttyACM0?baud=fast')).toThrow(/E_CONFIG.*baudRate: expected a positive integer/);
    expect(() => parseSerialLinkSpec('serial:/dev/ttyACM0?bogus=1')).toThrow(/unknown option "bogus"/);
    expect(parseSerialLinkSpec('serial:/dev/serial/by-id/usb-Arduino?baud=921600&silence=250')).toMatchObject({
      path: '/dev/serial/by-id/usb-Arduino', baudRate: 921600, rxSilenceMs: 250, heartbeatMs: 50,
    });
  });
});
