import { formatDiagnostic } from '../reward/diagnostics.js';
import type { HostDeath } from '../reward/host/death.js';
import type { LiveHostHandle } from '../reward/host/live-reward.js';
import { HostDiedError, RewardHost } from '../reward/host/reward-host.js';
import type { RewardRuntimeOptions } from '../reward/runtime.js';
import type { RecentSteps } from './reward-admission.js';

export interface RewardHostsOptions {
  runtime: RewardRuntimeOptions;
  /** Hard RSS cap of each host, MB. */
  hostMemoryMb: number;
  /** A live host is gone: tell the control thread (its LiveReward learns the precise cause). */
  onLiveDeath(pid: number, death: HostDeath): void;
}

export type Admission = { ok: true; handle: LiveHostHandle } | { ok: false; error: string };

/**
 * Bound on live hosts: the active version, the previous one (warm, for an
 * instant rollback), one admitted but not yet active, and one restoring.
 * Past it the oldest is killed: its version can no longer be activated.
 */
export const MAX_LIVE_HOSTS = 4;
const RETIRED_KEPT = 8;

/**
 * The main thread's reward host processes (docs/sandbox.md). Every reward
 * source the daemon is given (the file at start, a watched-file change, a
 * push) is loaded, dry-run and served by a host process of its own; the
 * daemon's process never runs reward code. One host is kept started and
 * empty (the spare) so a push or a restore does not wait for Node to boot.
 */
export class RewardHosts {
  private spare: Promise<RewardHost> | null = null;
  private readonly live = new Map<number, RewardHost>();
  /** Released hosts, kept so their death can still be read (bound: RETIRED_KEPT, oldest dropped). */
  private readonly retired = new Map<number, RewardHost>();
  private closed = false;

  constructor(private readonly o: RewardHostsOptions) {}

  /** Starts the spare in the background. */
  warm(): void {
    if (this.spare || this.closed) return;
    const s = RewardHost.start({ rssCapMb: this.o.hostMemoryMb });
    this.spare = s;
    // A spare that dies before use is simply replaced when it is next needed.
    s.then((h) => h.exited.then(() => { if (this.spare === s) this.spare = null; }), () => { if (this.spare === s) this.spare = null; });
  }

  /**
   * Compiles a source in a fresh host, dry-runs it on the recent steps (when
   * any are given), and turns the host live. Any failure, the host's death
   * included, is a refusal with its reason; the daemon is never at risk.
   */
  async admit(source: string, filename: string, recent: RecentSteps | null): Promise<Admission> {
    // After close() (the daemon is stopping) no host may start: it would outlive the daemon's shutdown.
    if (this.closed) return { ok: false, error: 'E_CONFIG: the daemon is stopping' };
    let host: RewardHost;
    try {
      host = await this.takeSpare();
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
    try {
      const loaded = await host.load(source, filename, this.o.runtime);
      if (!loaded.ok) {
        host.kill();
        return { ok: false, error: loaded.diagnostics.length > 0 ? `${loaded.diagnostics[0]!.code}: ${loaded.diagnostics.map(formatDiagnostic).join('\n')}` : loaded.message };
      }
      const segments = recent?.segments() ?? [];
      if (segments.length > 0) {
        const r = await host.dryRun(segments);
        if (r.failure) {
          host.kill();
          // Coded like every other refusal (docs/mqtt.md): the failing step's own code leads.
          const code = /^(E_[A-Z_]+):/.exec(r.failure.reason)?.[1] ?? 'E_REWARD_DRY_RUN';
          return { ok: false, error: `${code}: dry run on the last ${recent?.count ?? 0} logged steps failed at step ${r.failure.step} (episode ${r.failure.episode}): ${r.failure.reason}` };
        }
      }
      const fifos = await host.goLive();
      if (this.closed) {
        host.kill();
        return { ok: false, error: 'E_CONFIG: the daemon is stopping' };
      }
      this.adopt(host);
      return { ok: true, handle: { ...fifos, info: loaded.info, observationCount: this.o.runtime.observationNames.length, actionCount: this.o.runtime.actionNames.length } };
    } catch (e) {
      host.kill();
      if (e instanceof HostDiedError) {
        const d = e.death;
        return { ok: false, error: `${e.code}: the program killed its reward host during the check (${d.reason}): ${d.detail}` };
      }
      return { ok: false, error: (e as Error).message };
    }
  }

  /** Why a host is gone, waiting for its exit to be classified at most `waitMs`; null if it lives. */
  async deathOf(pid: number, waitMs: number): Promise<HostDeath | null> {
    const h = this.live.get(pid) ?? this.retired.get(pid);
    if (!h) return null;
    if (h.death) return h.death;
    let timer: NodeJS.Timeout | undefined;
    const d = await Promise.race([h.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), waitMs)))]);
    clearTimeout(timer);
    return d;
  }

  /** The control thread retired a version: its host goes. */
  release(pid: number): void {
    const h = this.live.get(pid);
    if (!h) return;
    this.live.delete(pid);
    h.kill();
    this.retired.set(pid, h);
    if (this.retired.size > RETIRED_KEPT) this.retired.delete(this.retired.keys().next().value as number);
  }

  close(): void {
    this.closed = true;
    for (const h of this.live.values()) h.kill();
    this.live.clear();
    void this.spare?.then((h) => h.kill(), () => undefined);
    this.spare = null;
  }

  private async takeSpare(): Promise<RewardHost> {
    const s = this.spare ?? RewardHost.start({ rssCapMb: this.o.hostMemoryMb });
    this.spare = null;
    const h = await s;
    if (this.closed) {
      h.kill();
      throw new Error('E_CONFIG: the daemon is stopping');
    }
    this.warm();
    if (h.death) return RewardHost.start({ rssCapMb: this.o.hostMemoryMb });
    return h;
  }

  private adopt(host: RewardHost): void {
    this.live.set(host.pid, host);
    void host.exited.then((d) => {
      if (this.closed || !this.live.has(host.pid)) return;
      this.o.onLiveDeath(host.pid, d);
    });
    if (this.live.size > MAX_LIVE_HOSTS) {
      const oldest = this.live.keys().next().value as number;
      this.release(oldest);
    }
  }
}

