import { describe, expect, it } from 'vitest';
import { classifySerialOpenError, serialOpenError } from '../../src/link/serial-open-error.js';
import { SerialLink } from '../../src/link/serial-link.js';
import { RecordingSink } from './harness.js';

/**
 * serialport's native open reports errno as text only; these are the texts bindings-cpp 13
 * builds ("Error: %s, cannot open %s" with strerror) and Node's own fs codes.
 */
describe('serial open errors', () => {
  it.each([
    ['Error: No such file or directory, cannot open /dev/ttyNOPE', 'ENOENT'],
    ['Error: Permission denied, cannot open /dev/ttyACM0', 'EACCES'],
    ['Error: Resource temporarily unavailable Cannot lock port', 'EBUSY'],
    ['Error: Inappropriate ioctl for device, cannot open /tmp/x', 'ENOTTY'],
    ['Error: Inappropriate ioctl for device Cannot lock port', 'ENOTTY'],
    ['Error: Input/output error', 'other'],
  ])('reads %j as %s', (text, failure) => {
    expect(classifySerialOpenError(new Error(text))).toBe(failure);
  });

  it('prefers an errno code when there is one', () => {
    expect(classifySerialOpenError(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('EACCES');
    expect(classifySerialOpenError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ENOENT');
  });

  it('says what to do, in one line, and only ENOENT / EACCES end the first open at once', () => {
    const denied = serialOpenError('/dev/ttyACM0', new Error('Error: Permission denied, cannot open /dev/ttyACM0'));
    expect(denied.message).toBe("E_LINK: serial /dev/ttyACM0: expected read and write access, found permission denied (EACCES): add this user to the device's group (ls -l /dev/ttyACM0; usually dialout: sudo usermod -aG dialout $USER, then log in again)");
    expect(denied.permanent).toBe(true);
    expect(serialOpenError('/dev/x', new Error('Error: No such file or directory, cannot open /dev/x')).permanent).toBe(true);
    expect(serialOpenError('/dev/x', new Error('Error: Resource temporarily unavailable Cannot lock port')).permanent).toBe(false);
    for (const e of [denied]) expect(e.message).not.toContain('\n');
  });

  it('a SerialLink on a missing path rejects open() with ENOENT before its HELLO timeout', async () => {
    const link = new SerialLink({ path: '/dev/ttyNOPE-rewardd-test', openTimeoutMs: 30_000 });
    const t0 = performance.now();
    await expect(link.open(new RecordingSink())).rejects.toThrow(/E_LINK: serial \/dev\/ttyNOPE-rewardd-test: expected a serial device, found no such file \(ENOENT\)/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
