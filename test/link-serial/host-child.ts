/**
 * A minimal rewardd host in its own process, so a test can SIGSTOP it:
 * opens the serial link, arms, commands 0.5/0.5 every 20 ms, and prints one
 * JSON line per thing the test checks. Usage: node --import tsx host-child.ts <path>
 */
import { SerialLink } from '../../src/link/serial-link.js';

const path = process.argv[2];
if (!path) throw new Error('usage: host-child.ts <serial path>');
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const link = new SerialLink({ path, rxSilenceMs: 2000 });
await link.open({
  onHello: (h, bootChanged) => say({ ev: 'hello', bootId: h.bootId, bootChanged }),
  onLost: (reason) => say({ ev: 'lost', reason }),
  onFrame: (f) => {
    if (f.type === 'FAULT') say({ ev: 'fault', code: f.code, message: f.message });
    if (f.type === 'HEARTBEAT' && f.status & 2) say({ ev: 'tripped', status: f.status });
  },
});
link.arm();
say({ ev: 'armed' });
setInterval(() => {
  link.sendCommand(Float32Array.of(0.5, 0.5));
  say({ ev: 'tick', armed: link.isArmed, trips: link.counters().mcuWatchdogTrips });
}, 20);
process.on('SIGTERM', () => void link.close().then(() => process.exit(0)));
