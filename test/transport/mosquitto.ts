import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tmpDir } from './helpers.js';

/**
 * A private Mosquitto on a free port, with persistence, that a test may stop
 * and start (never the system broker on 1883). Skips when mosquitto is absent.
 */
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export interface OwnMosquitto {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export async function ownMosquitto(): Promise<OwnMosquitto> {
  const port = await freePort();
  const dir = tmpDir('mosq');
  // Mosquitto started as root drops to its own user: it must be able to write its persistence file here.
  chmodSync(dir, 0o777);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'autosave_interval 1', 'max_queued_messages 100000', 'log_dest none', ''].join('\n'));
  let child: ChildProcess | undefined;
  const m: OwnMosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await portOpen(port)); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGTERM');
      });
    },
  };
  await m.start();
  return m;
}
