/**
 * End-to-end episode logging throughput: steps pushed into the daemon's
 * encoder (StepBatcher) -> EpisodePublisher (disk outbox, QoS 1) -> broker ->
 * Recorder (SQLite staging) -> MCAP file + catalog row, against raw mqtt.js
 * publishing of the same encoded bytes QoS 1 to a plain subscriber, measured
 * in the same run. Also the outbox append cost per batch (the only part the
 * control loop pays) and its disk write cost.
 *
 * Broker: MQTT_URL if set; else a private Mosquitto (if installed) on a free port with
 * `max_queued_messages 0` — Mosquitto's default of 1000 queued messages per client drops QoS 1
 * messages to a subscriber that falls behind a burst (docs/recorder.md); else the embedded aedes.
 * BENCH_TRANSPORT_STEPS (default 200000) and BENCH_TRANSPORT_BATCH (default 100) size a run;
 * BENCH_WINDOW overrides the publisher's in-flight window; BENCH_REPEATS (default 5) the runs per
 * path; BENCH_GROUP_DELAY_MS the recorder's groupCommit.maxDelayMs; BENCH_CHILD_PROF=DIR writes a CPU profile of each receiving process into DIR.
 *
 * Topology, as in the field (robot and laptop are different machines): the receiving side (the
 * recorder, and the raw run's plain subscriber, alike) runs in its own child process; the
 * publisher side (encoder + outbox, or the raw publisher) runs in this one. The encoder keeps at
 * most BENCH_LEAD_STEPS (default 50000) unacknowledged steps ahead of the broker, as a robot's
 * 1 kHz pace would: without that bound an unthrottled encoder outruns its own outbox's disk
 * writes and the full-policy (correctly) drops steps, which measures nothing.
 */
import { connect as netConnect, createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { StepBatcher, type EncodedBatch, type StepInput } from '../src/episode/step-batcher.js';
import { RECORD_SCHEMA, RewardStatus, StepFlag, type EpisodeEnd, type EpisodeStart } from '../src/core/records.js';
import { EpisodePublisher } from '../src/transport/publisher.js';
import { Recorder } from '../src/recorder/recorder.js';
import { startEmbeddedBroker } from '../src/transport/embedded-broker.js';
import { Outbox } from '../src/outbox/outbox.js';
import { RecordKind } from '../src/outbox/record-format.js';
import { summarise, table } from './stats.js';
import { McapWriter } from '@mcap/core';
import { crc32 } from 'node:zlib';
import { McapFileWriter } from '../src/recorder/mcap-file-writer.js';
import { decodeStepBatch } from '../src/episode/batch-codec.js';
import { ENCODING, OBS_TOPIC, ACTION_TOPIC, REWARD_TOPIC, SCHEMA_ENCODING, RowEncoder, actionSchema, observationSchema, rewardSchema } from '../src/recorder/mcap-schemas.js';

const STEPS = Number(process.env.BENCH_TRANSPORT_STEPS ?? 200_000);
const BATCH = Number(process.env.BENCH_TRANSPORT_BATCH ?? 100);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const LEAD = Number(process.env.BENCH_LEAD_STEPS ?? 50_000);
const OBS = Array.from({ length: 48 }, (_, i) => `o${i}`);
const ACT = Array.from({ length: 12 }, (_, i) => `a${i}`);
const TERMS = ['reach', 'heading', 'progress', 'effort'];

const tmp = (tag: string): string => mkdtempSync(join(tmpdir(), `rewardd-bench-${tag}-`));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = netConnect(Number(u.port || 1883), u.hostname);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function stepInput(): StepInput {
  return {
    tNs: 0n, wallMs: 0, obsTNs: 0n, obs: new Float32Array(OBS.length).map(() => Math.random()),
    actionCommanded: new Float32Array(ACT.length).fill(0.2), actionApplied: new Float32Array(ACT.length).fill(0.2),
    safety: 0, flags: 0, rewardVersion: 'benchreward1', termNames: TERMS, rewardStatus: RewardStatus.ok, rewardTotal: 0.5,
    rewardTerms: new Float64Array([0.1, 0.2, 0.3, -0.1]), rewardReason: '',
  };
}

/** Step i of the bench episode, written into `s` (one object reused, as the control loop does). */
function stepAt(s: StepInput, i: number): StepInput {
  s.tNs = BigInt(i) * 1_000_000n;
  s.wallMs = 1.7e12 + i;
  s.obs[0] = i;
  s.flags = i === 0 ? StepFlag.first : i === STEPS - 1 ? StepFlag.last : 0;
  return s;
}

/**
 * Encodes an episode the way the daemon does: one push per step, and an event-loop turn after
 * each batch, as the daemon's main thread has between batches posted by its control worker (the
 * outbox writes and MQTT I/O run in those turns).
 */
async function encodeEpisodeYielding(robot: string, episode: string, onBatch: (b: EncodedBatch) => void, pending: () => number): Promise<void> {
  const batches: EncodedBatch[] = [];
  const batcher = new StepBatcher({ robot, observationNames: OBS, actionNames: ACT, capacity: BATCH }, (b) => batches.push(b));
  batcher.beginEpisode(episode, 0);
  const s = stepInput();
  let sent = 0;
  for (let i = 0; i < STEPS; i++) {
    batcher.push(stepAt(s, i));
    if (batches.length > 0) {
      onBatch(batches.pop()!);
      await new Promise((r) => setImmediate(r));
      if (++sent % 8 === 0) while (pending() > LEAD) await sleep(1); // the lead bound, checked every 8th batch
    }
  }
  batcher.flush();
  for (const b of batches) onBatch(b);
}

function encodeEpisode(robot: string, episode: string, onBatch: (b: EncodedBatch) => void): void {
  const batcher = new StepBatcher({ robot, observationNames: OBS, actionNames: ACT, capacity: BATCH }, onBatch);
  batcher.beginEpisode(episode, 0);
  const s = stepInput();
  for (let i = 0; i < STEPS; i++) {
    batcher.push(stepAt(s, i));
  }
  batcher.flush();
}

const startRecord = (robot: string, episode: string): EpisodeStart =>
  ({ schema: RECORD_SCHEMA, episode, robot, index: 0, startedWallMs: 1.7e12, startedNs: '0', tickHz: 1000, stepLimit: STEPS, observationNames: OBS, actionNames: ACT,
    robotDescription: { hash: 'r', sha256: 'r', content: {} }, calibration: { hash: 'c', sha256: 'c', content: {} }, policy: { hash: 'p', sha256: 'p', content: {}, backend: 'none' },
    reward: { hash: 'benchreward1', sha256: 'x', content: '', name: 'bench', weights: {}, termNames: TERMS, signer: null }, link: { kind: 'bench', detail: {} },
    software: { rewardd: 'bench', node: process.version }, scenario: {} }) as EpisodeStart;
const endRecord = (robot: string, episode: string): EpisodeEnd =>
  ({ schema: RECORD_SCHEMA, episode, robot, steps: STEPS, endedWallMs: 1.7e12 + STEPS, endedNs: '0', reason: 'step_limit', success: false, return: 0, returnByTerm: {},
    rewardFailures: 0, rewardVersions: ['benchreward1'], safetyInterventions: 0, linkCounters: {} }) as EpisodeEnd;

async function privateMosquitto(): Promise<{ url: string; stop(): void } | undefined> {
  const bin = '/usr/sbin/mosquitto';
  if (!existsSync(bin)) return undefined;
  const port = await new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  const dir = tmp('mosq');
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nlog_dest none\n`);
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'm.conf')], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await reachable(url)); i++) await sleep(50);
  return { url, stop: () => void child.kill('SIGTERM') };
}

const SELF = fileURLToPath(import.meta.url);
const cpuUs = (since?: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};
/** CPU (µs) spent in each process per run: robust where wall time is not (a shared, loaded machine). */
interface Cpu {
  sender: number;
  receiver: number;
}

/**
 * The receiving side in its own process. It prints one event per line ("ready", "staged",
 * "complete", "done", "progress N", "error ..."); the parent timestamps them on arrival.
 */
interface Child {
  next(event: string): Promise<void>;
  /** The last "cpu N" line: the child's CPU time (user + system, µs) since it was ready. */
  cpuUs(): number;
  exit: Promise<unknown>;
  kill(): void;
}

function child(mode: 'recorder' | 'subscriber', args: object): Child {
  const prof = process.env.BENCH_CHILD_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CHILD_PROF}`] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', SELF, `child-${mode}`, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const waiters = new Map<string, () => void>();
  const seen = new Set<string>();
  let progress = -1;
  let progressAt = nowMs();
  let failed: string | undefined;
  let cpu = NaN;
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    if (line.startsWith('progress ')) {
      const n = Number(line.slice(9));
      if (n !== progress) (progress = n), (progressAt = nowMs());
      return;
    }
    if (line.startsWith('cpu ')) return void (cpu = Number(line.slice(4)));
    if (line.startsWith('error ')) failed = line.slice(6);
    seen.add(line);
    waiters.get(line)?.();
  });
  const exit = new Promise((r) => proc.once('exit', r));
  return {
    exit,
    cpuUs: () => cpu,
    kill: () => void proc.kill('SIGKILL'),
    async next(event: string): Promise<void> {
      progressAt = nowMs();
      for (;;) {
        if (seen.has(event)) return;
        if (failed !== undefined) throw new Error(`bench: ${mode} child: ${failed}`);
        if (proc.exitCode !== null) throw new Error(`bench: ${mode} child exited (${proc.exitCode}) before "${event}"`);
        if (nowMs() - progressAt > 10_000) throw new Error(`bench: ${mode} stalled at ${progress} messages waiting for "${event}" (is the broker dropping messages?)`);
        await new Promise<void>((r) => {
          waiters.set(event, r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

/** Raw mqtt.js: the same encoded bytes, QoS 1, until a plain subscriber (another process) has them all. */
async function rawRun(url: string, payloads: Uint8Array[]): Promise<{ ms: number; cpu: Cpu }> {
  const prefix = `rwbench/${randomBytes(4).toString('hex')}`;
  const sub = child('subscriber', { url, prefix, n: payloads.length });
  try {
    await sub.next('ready');
    const pub = await mqtt.connectAsync(url, { protocolVersion: 4 });
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    for (const p of payloads) pub.publish(`${prefix}/r/episodes/e/steps`, Buffer.from(p.buffer, p.byteOffset, p.byteLength), { qos: 1 });
    await sub.next('done');
    const ms = nowMs() - t0;
    const sender = cpuUs(c0);
    await pub.endAsync();
    await sub.exit;
    return { ms, cpu: { sender, receiver: sub.cpuUs() } };
  } finally {
    sub.kill();
  }
}

/** rewardd: encoder -> publisher/outbox -> broker -> recorder (another process) -> MCAP + catalog. */
async function rewarddRun(url: string): Promise<{ ms: number; stagedMs: number; appendUs: number[]; cpu: Cpu }> {
  const prefix = `rwbench/${randomBytes(4).toString('hex')}`;
  const out = tmp('rec');
  const obDir = tmp('ob');
  const rec = child('recorder', { url, out, prefix, steps: STEPS });
  try {
    await rec.next('ready');
    const pub = await EpisodePublisher.open({ mqttUrl: url, robot: 'bench', prefix, outboxDir: obDir, ...(process.env.BENCH_WINDOW ? { inflightWindow: Number(process.env.BENCH_WINDOW) } : {}) });
    while (!pub.stats().connected) await sleep(10);
    const appendUs: number[] = [];
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    pub.publishStart(startRecord('bench', 'ep'));
    await encodeEpisodeYielding('bench', 'ep', (b) => {
      const a = process.hrtime.bigint();
      pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      appendUs.push(Number(process.hrtime.bigint() - a) / 1e3);
    }, () => pub.pendingSteps);
    pub.publishEnd(endRecord('bench', 'ep'));
    const ps = pub.stats();
    if (ps.droppedSteps > 0) throw new Error(`bench: the outbox dropped ${ps.droppedSteps} steps (full-policy)`);
    await rec.next('staged');
    const stagedMs = nowMs() - t0;
    const cpu = { sender: cpuUs(c0), receiver: rec.cpuUs() };
    await rec.next('complete');
    const ms = nowMs() - t0;
    await pub.close(1000);
    await rec.exit;
    return { ms, stagedMs, appendUs, cpu };
  } finally {
    rec.kill();
    rmSync(out, { recursive: true, force: true });
    rmSync(obDir, { recursive: true, force: true });
  }
}

async function subscriberChild(a: { url: string; prefix: string; n: number }): Promise<void> {
  const sub = await mqtt.connectAsync(a.url, { protocolVersion: 4 });
  let got = 0;
  const progress = setInterval(() => process.stdout.write(`progress ${got}\n`), 250);
  const done = new Promise<void>((r) => sub.on('message', () => ++got === a.n && r()));
  await sub.subscribeAsync(`${a.prefix}/#`, { qos: 1 });
  process.stdout.write('ready\n');
  const c0 = process.cpuUsage();
  await done;
  process.stdout.write(`cpu ${cpuUs(c0)}\ndone\n`);
  clearInterval(progress);
  await sub.endAsync();
}

async function recorderChild(a: { url: string; out: string; prefix: string; steps: number }): Promise<void> {
  const delay = process.env.BENCH_GROUP_DELAY_MS;
  const rec = new Recorder({ mqttUrl: a.url, outDir: a.out, prefix: a.prefix, finalizeIntervalMs: 20, ...(delay !== undefined ? { groupCommit: { maxDelayMs: Number(delay) } } : {}) });
  while (!rec.stats().connected) await sleep(10);
  await sleep(100);
  process.stdout.write('ready\n');
  const c0 = process.cpuUsage();
  let staged = false;
  // Every record of the episode: start, the batches, end. Polling reads the recorder's counters
  // (cheap); the catalog is only queried once they say everything is staged, so the probe does
  // not load the process it measures.
  const records = Math.ceil(a.steps / BATCH) + 2;
  for (let i = 0; ; i++) {
    const st = rec.stats();
    if (i % 50 === 0) process.stdout.write(`progress ${st.received}\n`);
    // Staged: everything committed, and the episode either still waiting with all its steps or
    // already taken by the recorder's finalize pass (which only starts on a fully staged episode).
    const isStaged = (): boolean => {
      const status = rec.catalog.get('ep')?.status;
      return status === 'writing' || status === 'complete' || rec.catalog.pending().some((p) => p.hasEnd && p.stagedSteps >= a.steps);
    };
    if (!staged && st.committed >= records && isStaged()) {
      staged = true;
      process.stdout.write(`cpu ${cpuUs(c0)}\nstaged\n`);
    }
    if (staged || i % 20 === 0) {
      const row = rec.catalog.get('ep');
      if (row?.status === 'complete') break;
      if (row?.status === 'incomplete') {
        process.stdout.write('error the episode was closed incomplete\n');
        process.exit(1);
      }
    }
    await sleep(5);
  }
  if (!staged) process.stdout.write('staged\n');
  const st = rec.stats();
  process.stderr.write(`recorder: ${st.committed} records in ${st.groups} group commits\n`);
  process.stdout.write('complete\n');
  await rec.close();
}

/** Outbox alone: synchronous append cost, and time until the batches are on disk. */
async function outboxRun(payloads: Uint8Array[], fsync: 'never' | 'interval' | 'always'): Promise<{ appendUs: number[]; writeUsPerBatch: number }> {
  const dir = tmp('ob');
  const ob = await Outbox.open({ dir, fsync, maxBytes: 1024 * 1024 * 1024 });
  const appendUs: number[] = [];
  const t0 = nowMs();
  for (const p of payloads) {
    const a = process.hrtime.bigint();
    ob.append({ kind: RecordKind.steps, topic: 'rewardd/v1/bench/episodes/ep/steps', steps: BATCH, payload: p });
    appendUs.push(Number(process.hrtime.bigint() - a) / 1e3);
  }
  await ob.flushed();
  const writeUsPerBatch = ((nowMs() - t0) * 1000) / payloads.length;
  await ob.close();
  rmSync(dir, { recursive: true, force: true });
  return { appendUs, writeUsPerBatch };
}

/**
 * The episode file alone (what the recorder does after "staged"): the bench episode's messages
 * through McapFileWriter and, as the baseline, through @mcap/core's McapWriter with the same
 * calls, into memory (no disk in either). Both must produce the same bytes.
 */
async function mcapWriteRun(payloads: Uint8Array[], kind: 'rewardd' | 'mcap-core'): Promise<{ ms: number; sha: string }> {
  let crc = 0; // the file's CRC-32 and length stand for its bytes (a cryptographic hash would cost more than the writing)
  let pos = 0n;
  const writable = { position: () => pos, write: async (b: Uint8Array) => void ((crc = crc32(b, crc)), (pos += BigInt(b.byteLength))) };
  const mine = kind === 'rewardd' ? new McapFileWriter({ writable }) : undefined;
  const ref = kind === 'mcap-core' ? new McapWriter({ writable }) : undefined;
  const te = new TextEncoder();
  const enc = new RowEncoder();
  const t0 = nowMs();
  const w = (mine ?? ref)!;
  await w.start({ profile: '', library: 'rewardd' });
  let obs = -1;
  let act = -1;
  let rew = -1;
  let seq = 0;
  const add = async (channelId: number, logTime: bigint, publishTime: bigint, data: Uint8Array): Promise<void> => {
    if (mine) await mine.addMessage(channelId, seq++, logTime, publishTime, data);
    else await ref!.addMessage({ channelId, sequence: seq++, logTime, publishTime, data });
  };
  for (const bytes of payloads) {
    const b = decodeStepBatch(bytes);
    if (obs < 0) {
      obs = await w.registerChannel({ schemaId: await w.registerSchema({ name: 'rewardd/Observation', encoding: SCHEMA_ENCODING, data: te.encode(observationSchema(b.observationNames, true)) }), topic: OBS_TOPIC, messageEncoding: ENCODING, metadata: new Map() });
      act = await w.registerChannel({ schemaId: await w.registerSchema({ name: 'rewardd/Action', encoding: SCHEMA_ENCODING, data: te.encode(actionSchema(b.actionNames)) }), topic: ACTION_TOPIC, messageEncoding: ENCODING, metadata: new Map() });
      rew = await w.registerChannel({ schemaId: await w.registerSchema({ name: 'rewardd/Reward', encoding: SCHEMA_ENCODING, data: te.encode(rewardSchema(b.termNames)) }), topic: REWARD_TOPIC, messageEncoding: ENCODING, metadata: new Map() });
    }
    for (let i = 0; i < b.count; i++) {
      const logTime = BigInt(Math.round(b.wallMs[i]!)) * 1_000_000n;
      const t = b.tNs[i]!;
      await add(obs, logTime, t, enc.observation(b, i, true));
      await add(act, logTime, t, enc.action(b, i));
      await add(rew, logTime, t, enc.reward(b, i, undefined));
    }
  }
  await w.end();
  return { ms: nowMs() - t0, sha: `${crc}/${pos}` };
}

export async function run(): Promise<void> {
  let embedded: Awaited<ReturnType<typeof startEmbeddedBroker>> | undefined;
  const own = process.env.MQTT_URL ? undefined : await privateMosquitto();
  let url = process.env.MQTT_URL ?? own?.url;
  if (!url) {
    embedded = await startEmbeddedBroker({});
    url = embedded.url;
  }
  try {
    const payloads: Uint8Array[] = [];
    const te0 = nowMs();
    encodeEpisode('bench', 'ep', (b) => payloads.push(b.bytes));
    const encodeMs = nowMs() - te0;
    const batchBytes = payloads[0]!.byteLength;
    process.stdout.write(`receivers (recorder; raw subscriber) in their own processes, publishers in this one; encoder lead <= ${LEAD} unacked steps\n`);
    process.stdout.write(`broker ${embedded ? 'embedded aedes' : own ? `private Mosquitto (max_queued_messages 0) ${url}` : url}; ${STEPS} steps of 48-float observations in batches of ${BATCH} (${(batchBytes / 1024).toFixed(1)} KiB each); median of ${REPEATS}\n`);

    const raw: number[] = [];
    const e2e: number[] = [];
    const staged: number[] = [];
    let appendE2e: number[] = [];
    const rawCpu: Cpu[] = [];
    const e2eCpu: Cpu[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const rr = await rawRun(url, payloads);
      raw.push(rr.ms);
      rawCpu.push(rr.cpu);
      const r = await rewarddRun(url);
      e2eCpu.push(r.cpu);
      e2e.push(r.ms);
      staged.push(r.stagedMs);
      appendE2e = appendE2e.concat(r.appendUs);
    }
    // Every repeat, so the spread on a shared machine is visible next to the medians.
    const rate = (ms: number): string => `${Math.round((STEPS / ms) * 1000 / 1000)}k`;
    process.stdout.write(`repeats, steps/s: raw ${raw.map(rate).join(' ')}; staged ${staged.map(rate).join(' ')}; vs raw ${staged.map((ms, i) => (raw[i]! / ms).toFixed(2)).join(' ')}\n`);
    const rawMs = summarise(raw).p50;
    const e2eMs = summarise(e2e).p50;
    const stagedMs = summarise(staged).p50;
    const rows = [
      { path: 'raw mqtt.js QoS 1 -> subscriber (same bytes, pre-encoded)', 'steps/s': (STEPS / rawMs) * 1000, 'MB/s': (payloads.length * batchBytes) / rawMs / 1000, 'vs raw': 1 },
      { path: 'rewardd encoder -> outbox -> MQTT -> recorder store (staged, acked)', 'steps/s': (STEPS / stagedMs) * 1000, 'MB/s': (payloads.length * batchBytes) / stagedMs / 1000, 'vs raw': rawMs / stagedMs },
      { path: 'rewardd ... -> episode MCAP file written + cataloged', 'steps/s': (STEPS / e2eMs) * 1000, 'MB/s': (payloads.length * batchBytes) / e2eMs / 1000, 'vs raw': rawMs / e2eMs },
      { path: '(encoder alone: StepBatcher push + encode)', 'steps/s': (STEPS / encodeMs) * 1000, 'MB/s': (payloads.length * batchBytes) / encodeMs / 1000, 'vs raw': rawMs / encodeMs },
    ];
    process.stdout.write(`${table(rows)}\n\n`);
    const perStep = (xs: Cpu[], k: keyof Cpu): number => summarise(xs.map((c) => c[k] / STEPS)).p50;
    const cpuRows = [
      { 'CPU per step (median, µs)': 'raw mqtt.js', 'sender process': perStep(rawCpu, 'sender'), 'receiver process': perStep(rawCpu, 'receiver') },
      { 'CPU per step (median, µs)': 'rewardd until staged (sender: encoder + outbox + MQTT; receiver: recorder)', 'sender process': perStep(e2eCpu, 'sender'), 'receiver process': perStep(e2eCpu, 'receiver') },
    ];
    process.stdout.write(`${table(cpuRows)}\n\n`);

    // The episode file alone, interleaved with its baseline; both decode the batches.
    const mcapMine: number[] = [];
    const mcapRef: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await mcapWriteRun(payloads, 'mcap-core');
      const m = await mcapWriteRun(payloads, 'rewardd');
      if (m.sha !== r.sha) throw new Error('bench: McapFileWriter and McapWriter wrote different bytes for the same calls');
      mcapRef.push(r.ms);
      mcapMine.push(m.ms);
    }
    const refMs = summarise(mcapRef).p50;
    const mineMs = summarise(mcapMine).p50;
    process.stdout.write(`${table([
      { 'episode MCAP file alone (decode + 3 messages per step, in memory; same bytes)': '@mcap/core McapWriter (baseline)', 'steps/s': (STEPS / refMs) * 1000, 'µs per step': (refMs * 1000) / STEPS, 'vs baseline': 1 },
      { 'episode MCAP file alone (decode + 3 messages per step, in memory; same bytes)': 'McapFileWriter (the recorder)', 'steps/s': (STEPS / mineMs) * 1000, 'µs per step': (mineMs * 1000) / STEPS, 'vs baseline': refMs / mineMs },
    ])}\n\n`);

    const obRows = [];
    const pubAppend = summarise(appendE2e);
    obRows.push({ 'outbox per batch': 'publishBatch() in the daemon (end-to-end run)', 'p50 µs': pubAppend.p50, 'p99 µs': pubAppend.p99, 'max µs': pubAppend.max, 'disk write µs/batch': '-' });
    for (const fsync of ['never', 'interval', 'always'] as const) {
      const sub = payloads.slice(0, fsync === 'always' ? 200 : payloads.length);
      const r = await outboxRun(sub, fsync);
      const s = summarise(r.appendUs);
      obRows.push({ 'outbox per batch': `Outbox.append(), fsync ${fsync}${fsync === 'always' ? ' (200 batches)' : ''}`, 'p50 µs': s.p50, 'p99 µs': s.p99, 'max µs': s.max, 'disk write µs/batch': r.writeUsPerBatch });
    }
    process.stdout.write(`${table(obRows)}\n`);
  } finally {
    await embedded?.close();
    own?.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv[2];
  if (mode === 'child-recorder') await recorderChild(JSON.parse(process.argv[3]!) as Parameters<typeof recorderChild>[0]);
  else if (mode === 'child-subscriber') await subscriberChild(JSON.parse(process.argv[3]!) as Parameters<typeof subscriberChild>[0]);
  else await run();
}
