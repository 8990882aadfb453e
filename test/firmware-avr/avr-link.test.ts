import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvrFirmware } from '../../src/link/avr-firmware-sim.js';
import { SerialLink } from '../../src/link/serial-link.js';
import { channelFieldNames } from '../../src/protocol/frames.js';
import { RecordingSink, sleep } from '../link-serial/harness.js';

/**
 * The real sketch (Arduino core, avr-gcc, ATmega2560) in simavr, its UART on a
 * pty, driven by the host's SerialLink: HELLO, samples, heartbeats and commands
 * flow, and a command comes back in the sensor values as the MCU-side rover
 * model predicts (wheel speed = command x 20 rad/s after a 50 ms lag).
 * Times from the MCU (time_us, the emulator's t_us) are emulated time.
 */
describe.each([
  ['mega', 'atmega2560'],
  ['uno', 'atmega328p'],
] as const)('the AVR firmware for the %s (%s) in simavr over SerialLink', (board, mcu) => {
  let fw: AvrFirmware;
  let link: SerialLink;
  const sink = new RecordingSink();
  let fields: string[] = [];

  beforeAll(async () => {
    fw = await AvrFirmware.start({ board, baud: 115200, rateHz: 100 });
    link = new SerialLink({ path: fw.ptyPath, openTimeoutMs: 10_000 });
  }, 600_000);
  afterAll(async () => {
    await link?.close();
    await fw?.stop();
  });

  it('says HELLO with the rover table, then streams samples at 100/s and heartbeats at 10/s of emulated time', async () => {
    const hello = await link.open(sink);
    fields = channelFieldNames(hello.channels);
    expect(fw.mcu).toBe(mcu);
    expect(hello.firmwareId).toBe('rewardd-rover/1.0.0 avr-sim');
    expect(hello.watchdogMs).toBe(150);
    expect(channelFieldNames(hello.channels)).toContain('wheel_speed_left');
    expect(channelFieldNames(hello.channels)).toContain('motor_applied_0');
    await sink.until('60 samples', () => sink.samples().length >= 60, 20_000);
    const s = sink.samples().slice(-50);
    // time_us is the MCU's micros(): the spacing of samples on the emulated clock.
    const spanUs = (s.at(-1)!.timeUs - s[0]!.timeUs) >>> 0;
    expect(spanUs / (s.length - 1)).toBeGreaterThan(9_000);
    expect(spanUs / (s.length - 1)).toBeLessThan(11_000);
    const beats = sink.frames.filter((f) => f.type === 'HEARTBEAT');
    expect(beats.length).toBeGreaterThanOrEqual(3);
    const bt = beats.slice(-3).map((b) => b.timeUs);
    expect(((bt[2]! - bt[0]!) >>> 0) / 2).toBeGreaterThan(90_000);
    expect(((bt[2]! - bt[0]!) >>> 0) / 2).toBeLessThan(110_000);
    // The MCU hears our heartbeats (rx_bytes) and nothing is garbled on a quiet line.
    const st = await fw.stats();
    expect(st.rx_bytes).toBeGreaterThan(0);
    // Opening the port can land mid-frame: at most that one frame is bad.
    const c = link.counters();
    expect(c.crcErrors! + c.malformed! + c.oversize!).toBeLessThanOrEqual(1);
  }, 60_000);

  it('a command changes the sensors as the MCU-side rover predicts, and reaches the motor pins', async () => {
    const idx = (name: string) => fields.indexOf(name);
    const [wl, wr, gz, m0, m1] = ['wheel_speed_left', 'wheel_speed_right', 'gyro_z', 'motor_applied_0', 'motor_applied_1'].map(idx) as [number, number, number, number, number];
    link.arm();
    const left = 0.5, right = -0.25;
    const drive = setInterval(() => link.sendCommand(Float32Array.of(left, right)), 20);
    try {
      await sink.until('the armed heartbeat', () => sink.frames.some((f) => f.type === 'HEARTBEAT' && (f.status & 1) === 1), 10_000);
      // Ten time constants of the wheel lag (50 ms) on the emulated clock, every one of them driven.
      // (On a loaded machine a command can come later than the MCU's command watchdog allows: it
      // then stops the motors, as it should, and the wheels must spin up again before they are judged.)
      const L = Math.round(left * 32767), R = Math.round(right * 32767);
      const driven = (): boolean => {
        const s = sink.samples().slice(-60);
        return s.length === 60 && s.every((x) => x.values[m0] === L && x.values[m1] === R);
      };
      await sink.until('0.6 s of samples, every one driven', driven, 30_000);
      const last = sink.samples().slice(-10);
      for (const s of last) {
        expect(s.values[m0]).toBe(L);
        expect(s.values[m1]).toBe(R);
        expect(s.values[wl]!).toBeCloseTo(left * 20, 0); // 10 rad/s, noise <= 0.06
        expect(s.values[wr]!).toBeCloseTo(right * 20, 0); // -5 rad/s
        expect(s.values[gz]!).toBeCloseTo((right * 20 - left * 20) * 0.035 / 0.16, 0);
      }
      // The actuator path, read from the emulated MCU's timer and port registers: duty = |raw| x 255 / 32767.
      const m = fw.motorChanges().at(-1)!;
      expect(m).toMatchObject({ left: Math.trunc(Math.round(left * 32767) * 255 / 32767), right: -Math.trunc(Math.round(-right * 32767) * 255 / 32767) });
    } finally {
      clearInterval(drive);
    }
    // Stop commanding (heartbeats keep the watchdog fed): zero command, the wheels spin down.
    link.sendCommand(Float32Array.of(0, 0));
    const from = sink.samples().length;
    await sink.until('0.5 s of samples after the stop', () => sink.samples().length >= from + 50, 20_000);
    expect(Math.abs(sink.samples().at(-1)!.values[wl]!)).toBeLessThan(0.2);
    expect(fw.motorChanges().at(-1)).toMatchObject({ left: 0, right: 0 });
    link.disarm();
    await sleep(100);
  }, 60_000);
});
