import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { until } from '../helpers/wait.js';

/** The installed command over dist/ (npm test builds first), as a user runs it. */
export const BIN = join(process.cwd(), 'bin', 'rewardd.js');

export function rewarddSync(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--no-node-snapshot', BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function rewarddAsync(args: string[], timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--no-node-snapshot', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * `rewardd run` as a separate process: the process that must survive. Its log
 * (stderr) is kept whole; `mqttUrl` is the broker it uses (the embedded one's
 * URL is read from its first log line).
 */
export class DaemonProcess {
  log = '';
  mqttUrl = '';
  private exitCode: number | null | undefined;
  private constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (b: Buffer) => (this.log += b.toString()));
    child.on('exit', (code) => (this.exitCode = code));
  }

  static async start(args: string[], mqtt: string | null): Promise<DaemonProcess> {
    const d = new DaemonProcess(spawn(process.execPath, ['--no-node-snapshot', BIN, 'run', '--no-status', ...(mqtt ? ['--mqtt', mqtt] : ['--broker-port', '0']), ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
    await until(() => /running \w+ \(/.test(d.log) || d.exitCode !== undefined, 'the daemon to start', 60_000);
    if (d.exitCode !== undefined) throw new Error(`the daemon exited at start (${d.exitCode}): ${d.log}`);
    d.mqttUrl = mqtt ?? /embedded MQTT broker listening on (mqtt:\/\/\S+)/.exec(d.log)![1]!;
    return d;
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.exitCode === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<number | null> {
    if (!this.alive) return this.child.exitCode;
    this.child.kill('SIGINT');
    await until(() => !this.alive, 'the daemon to stop', 30_000).catch(() => this.child.kill('SIGKILL'));
    return this.child.exitCode;
  }
}
