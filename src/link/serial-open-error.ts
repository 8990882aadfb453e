import { RewarddError } from '../core/errors.js';

/**
 * Why a serial device could not be opened, in the field engineer's terms. serialport's native
 * open reports errno only as text ("Error: No such file or directory, cannot open /dev/ttyX"),
 * so the text is read here, in one place, with a unit test per case.
 *
 * `permanent`: retrying will not help until someone acts (plugs the board in, fixes the
 * permissions). The serial link fails its first open at once on these instead of waiting
 * for a HELLO that cannot come; after the link was up, a vanished device is an unplug and the
 * link keeps retrying with backoff.
 */
export type SerialOpenFailure = 'ENOENT' | 'EACCES' | 'EBUSY' | 'ENOTTY' | 'other';

export class SerialOpenError extends RewarddError {
  constructor(
    readonly failure: SerialOpenFailure,
    message: string,
  ) {
    super('E_LINK', message);
    this.name = 'SerialOpenError';
  }

  get permanent(): boolean {
    return this.failure === 'ENOENT' || this.failure === 'EACCES';
  }
}

export function classifySerialOpenError(e: unknown): SerialOpenFailure {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'ENOENT';
  if (code === 'EACCES' || code === 'EPERM') return 'EACCES';
  if (code === 'EBUSY') return 'EBUSY';
  const text = e instanceof Error ? e.message : String(e);
  if (/No such file or directory|No such device\b|ENOENT/i.test(text)) return 'ENOENT';
  if (/Permission denied|Operation not permitted|EACCES/i.test(text)) return 'EACCES';
  if (/Inappropriate ioctl for device|ENOTTY/i.test(text)) return 'ENOTTY';
  if (/cannot lock port|Resource temporarily unavailable|Device or resource busy|EBUSY/i.test(text)) return 'EBUSY';
  return 'other';
}

/** The one-line error for a failed open of `path`. */
export function serialOpenError(path: string, e: unknown): SerialOpenError {
  const failure = classifySerialOpenError(e);
  const detail = e instanceof Error ? e.message.replace(/^Error: /, '') : String(e);
  switch (failure) {
    case 'ENOENT':
      return new SerialOpenError(failure, `serial ${path}: expected a serial device, found no such file (ENOENT): is the board plugged in? (ls /dev/serial/by-id/)`);
    case 'EACCES':
      return new SerialOpenError(failure, `serial ${path}: expected read and write access, found permission denied (EACCES): add this user to the device's group (ls -l ${path}; usually dialout: sudo usermod -aG dialout $USER, then log in again)`);
    case 'EBUSY':
      return new SerialOpenError(failure, `serial ${path}: expected the port free, found it in use by another process (${detail}; fuser ${path})`);
    case 'ENOTTY':
      return new SerialOpenError(failure, `serial ${path}: expected a serial device (a tty), found a file that is not one (${detail})`);
    default:
      return new SerialOpenError(failure, `serial ${path}: open failed: ${detail}`);
  }
}
