import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../transport/helpers.js';
import { tmp } from './helpers.js';

/**
 * A private Mosquitto with the field configuration from docs/mosquitto/
 * (TLS-only listener, password file, the shipped ACL), on a free port, with a
 * CA and a server certificate made here by openssl. Never the system broker.
 */
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const DOCS = new URL('../../docs/mosquitto/', import.meta.url).pathname;

export interface SecureBroker {
  url: string;
  port: number;
  /** wss:// URL of the WebSocket listener (docs/mosquitto's `listener 9001`, moved to a free port). */
  wsUrl: string;
  dir: string;
  caFile: string;
  /** Passwords of the users in docs/mosquitto/rewardd.acl, plus the robots made here. */
  passwords: Record<string, string>;
  log(): string;
  stop(): Promise<void>;
}

const run = (cmd: string, args: string[], cwd: string): void => {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

function makeCerts(dir: string): void {
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rewardd test CA'], certs);
  run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], certs);
  writeFileSync(join(certs, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf'], certs);
  // Mosquitto started as root drops to its own user, which must read these (a test fixture only).
  for (const f of ['ca.crt', 'server.crt', 'server.key']) chmodSync(join(certs, f), 0o644);
  chmodSync(certs, 0o755);
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export async function startSecureBroker(robots: string[]): Promise<SecureBroker> {
  const dir = tmp('mosq-tls');
  chmodSync(dir, 0o777);
  makeCerts(dir);
  const port = await freePort();
  const wsPort = await freePort();
  const passwords: Record<string, string> = { 'op+alice': 'alice-pw', 'op+bob': 'bob-pw', 'rec+site1': 'rec-pw' };
  for (const r of robots) passwords[r] = `${r}-pw`;
  const pwFile = join(dir, 'rewardd.passwd');
  writeFileSync(pwFile, '');
  for (const [user, pw] of Object.entries(passwords)) run('mosquitto_passwd', ['-b', pwFile, user, pw], dir);
  chmodSync(pwFile, 0o644);
  copyFileSync(join(DOCS, 'rewardd.acl'), join(dir, 'rewardd.acl'));
  chmodSync(join(dir, 'rewardd.acl'), 0o644);
  // The shipped field config, with this test's folder, port and a log file substituted.
  const conf = readFileSync(join(DOCS, 'mosquitto.conf'), 'utf8')
    .replaceAll('/etc/mosquitto/', `${dir}/`)
    .replace('/var/lib/mosquitto/', `${dir}/`)
    .replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`)
    .replace(/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`)
    .replace(/^log_dest syslog$/m, `log_dest file ${dir}/mosquitto.log`);
  if (!conf.includes(`listener ${port} 127.0.0.1`)) throw new Error('docs/mosquitto/mosquitto.conf: expected a line "listener 8883"');
  if (!conf.includes(`listener ${wsPort} 127.0.0.1`)) throw new Error('docs/mosquitto/mosquitto.conf: expected a line "listener 9001"');
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf);
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 100 && !((await portOpen(port)) && (await portOpen(wsPort))); i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'mosquitto.log'), 'utf8');
    } catch {
      return stderr;
    }
  };
  return {
    url: `mqtts://127.0.0.1:${port}`,
    port,
    wsUrl: `wss://127.0.0.1:${wsPort}`,
    dir,
    caFile: join(dir, 'certs', 'ca.crt'),
    passwords,
    log,
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
    },
  };
}
