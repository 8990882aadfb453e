import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { PushVerifier, signEpisodeNext, signEstopReset, signRewardPush, type PushVerdict } from '../../src/trust/signed-push.js';
import { decideEstop, type EstopDecision } from '../../src/trust/estop-reset.js';
import { decideEpisodeNext, type EpisodeNextDecision } from '../../src/trust/episode-next.js';
import { syntheticEpisode } from '../recorder/fixtures.js';
import { tmpDir, waitFor } from '../transport/helpers.js';
import { startSecureBroker, MOSQUITTO_BIN, type SecureBroker } from './secure-broker.js';
import { operator, tmp, writeAllowed } from './helpers.js';

/**
 * The field setup end to end: Mosquitto with docs/mosquitto/mosquitto.conf
 * (TLS only, passwords) and docs/mosquitto/rewardd.acl, a CA and server
 * certificate made by openssl in the test. Skipped where Mosquitto is absent.
 */
const PREFIX = 'rewardd/v1';
const haveMosquitto = existsSync(MOSQUITTO_BIN);

let broker: SecureBroker;
beforeAll(async () => {
  if (haveMosquitto) broker = await startSecureBroker(['rover-a', 'rover-b']);
}, 30_000);
afterAll(async () => {
  await broker?.stop();
});

const tls = () => ({ caFile: broker.caFile });
const as = (user: string) => ({ username: user, password: broker.passwords[user]! });
async function client(user: string, password = broker.passwords[user]!): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, { ca: readFileSync(broker.caFile), username: user, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, clientId: `t-${user.replace('+', '-')}-${randomBytes(3).toString('hex')}` });
}
/** QoS 1 publish; resolves to the broker's refusal reason code, or 0 when accepted. */
async function publishCode(c: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    await c.publishAsync(topic, payload, { qos: 1 });
    return 0;
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}

describe.skipIf(!haveMosquitto)('field broker: TLS, passwords and the shipped ACL (Mosquitto)', () => {
  it('(a) the robot publishes episodes over TLS with a password and the recorder (TLS, recorder user) stores them', async () => {
    const out = tmpDir('rec-tls');
    const rec = new Recorder({ mqttUrl: broker.url, ...tls(), ...as('rec+site1'), outDir: out, prefix: PREFIX, robot: 'rover-a', finalizeIntervalMs: 50 });
    await waitFor(() => rec.stats().connected, 10_000, 'recorder connected over TLS');
    await new Promise((r) => setTimeout(r, 150)); // let the SUBSCRIBE land
    const pub = await EpisodePublisher.open({ mqttUrl: broker.url, ...tls(), ...as('rover-a'), robot: 'rover-a', prefix: PREFIX, outboxDir: tmpDir('ob-tls') });
    const ep = syntheticEpisode('rover-a', `ep-tls-${randomBytes(3).toString('hex')}`, 0, 120, 40);
    pub.publishStart(ep.start);
    for (const b of ep.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
    pub.publishEnd(ep.end);
    await waitFor(() => rec.catalog.get(ep.start.episode)?.status === 'complete', 10_000, 'episode stored complete');
    // The broker's PUBACKs to the robot travel independently of the deliveries to the recorder.
    await waitFor(() => pub.stats().pending === 0, 10_000, 'every record acknowledged to the robot');
    expect(pub.stats()).toMatchObject({ connected: true, protocolVersion: 5, published: 120, pending: 0, publishErrors: 0 });
    expect(rec.catalog.get(ep.start.episode)).toMatchObject({ robot: 'rover-a', steps: 120, missing: 0 });
    await pub.close();
    await rec.close();
  });

  it('(b) a signed reward push over TLS with authentication is verified and accepted end to end; unsigned, unknown-key and replayed pushes are refused with the reason on the response topic', async () => {
    const keysDir = tmp('keys');
    const alice = operator('alice');
    const mallory = operator('mallory');
    writeAllowed(join(keysDir, 'allowed_keys'), [alice]);
    const verifier = new PushVerifier({ robot: 'rover-a', allowedKeysFile: join(keysDir, 'allowed_keys') });
    // The robot: the daemon's publisher and command path, handing the raw reward/set payload to the verifier.
    const robot = await EpisodePublisher.open({ mqttUrl: broker.url, ...tls(), ...as('rover-a'), robot: 'rover-a', prefix: PREFIX, outboxDir: tmpDir('ob-push') });
    const verdicts: PushVerdict[] = [];
    robot.subscribeCommands({
      onRewardSet: (_source, reply, raw) => {
        const v = verifier.verify(raw);
        verdicts.push(v);
        reply(v.ok ? { ok: true, version: v.signer, name: v.signerName } : { ok: false, error: v.error });
      },
    });
    await waitFor(() => robot.stats().connected, 10_000, 'robot connected');
    await new Promise((r) => setTimeout(r, 150));
    // The operator: mqtt.js over TLS as op+alice, MQTT 5 request/response under the robot's prefix.
    const op = await client('op+alice');
    const replyTopic = `${PREFIX}/rover-a/reward/set/result/${randomBytes(4).toString('hex')}`;
    const replies = new Map<string, { ok: boolean; version?: string; name?: string; error?: string }>();
    op.on('message', (_t, payload, packet) => replies.set(packet.properties?.correlationData?.toString() ?? '?', JSON.parse(payload.toString()) as never));
    await op.subscribeAsync(replyTopic, { qos: 1 });
    const push = async (id: string, body: string) => {
      await op.publishAsync(`${PREFIX}/rover-a/reward/set`, body, { qos: 1, properties: { responseTopic: replyTopic, correlationData: Buffer.from(id) } });
      await waitFor(() => replies.has(id), 10_000, `reply to ${id}`);
      return replies.get(id)!;
    };
    const source = 'export const meta = { name: "reach" };\nexport function reward(o) { return { d: -o.range_m }; }\n';
    const signed = JSON.stringify(signRewardPush({ source, robot: 'rover-a', privateKeyPem: alice.privateKeyPem }));
    expect(await push('p1', signed)).toEqual({ ok: true, version: alice.fingerprint, name: 'alice' });
    expect(verdicts[0]).toEqual({ ok: true, source, signer: alice.fingerprint, signerName: 'alice' });
    expect(await push('p2', signed)).toMatchObject({ ok: false, error: expect.stringMatching(/^replayed: /) });
    expect(await push('p3', source)).toMatchObject({ ok: false, error: expect.stringMatching(/^unsigned: /) });
    const byMallory = JSON.stringify(signRewardPush({ source, robot: 'rover-a', privateKeyPem: mallory.privateKeyPem }));
    expect(await push('p4', byMallory)).toMatchObject({ ok: false, error: expect.stringContaining(`unknown_key: expected a key listed in`) });
    const forB = JSON.stringify(signRewardPush({ source, robot: 'rover-b', privateKeyPem: alice.privateKeyPem }));
    expect(await push('p5', forB)).toMatchObject({ ok: false, error: expect.stringMatching(/^wrong_robot: /) });

    // E-stop over the same broker: anyone allowed on the topic stops; only a signed reset clears.
    const robotRaw = await client('rover-a');
    const decisions: EstopDecision[] = [];
    robotRaw.on('message', (_t, payload) => decisions.push(decideEstop(payload, verifier)));
    await robotRaw.subscribeAsync(`${PREFIX}/rover-a/estop`, { qos: 1 });
    await op.publishAsync(`${PREFIX}/rover-a/estop`, 'stop', { qos: 1 });
    await op.publishAsync(`${PREFIX}/rover-a/estop`, 'reset', { qos: 1 });
    await op.publishAsync(`${PREFIX}/rover-a/estop`, JSON.stringify(signEstopReset({ robot: 'rover-a', reason: 'clear', privateKeyPem: alice.privateKeyPem })), { qos: 1 });
    await waitFor(() => decisions.length === 3, 10_000, 'three e-stop messages');
    expect(decisions.map((d) => (d.action === 'refused' ? `refused:${d.code}` : d.action))).toEqual(['stop', 'refused:unsigned', 'reset']);
    // The robot itself may not publish its own reward/set or estop (only operators may).
    expect(await publishCode(robotRaw, `${PREFIX}/rover-a/reward/set`, signed)).toBe(135);
    expect(await publishCode(robotRaw, `${PREFIX}/rover-a/estop`, 'reset')).toBe(135);
    // "next" (the end of a reset phase between episodes): operators send it, signed; the robot reads
    // it and answers on its own episode/next/result, and may not send itself one.
    const nexts: EpisodeNextDecision[] = [];
    robotRaw.on('message', (t, payload) => t.endsWith('/episode/next') && nexts.push(decideEpisodeNext(payload, verifier, { requireSigned: true })));
    await robotRaw.subscribeAsync(`${PREFIX}/rover-a/episode/next`, { qos: 1 });
    await op.publishAsync(`${PREFIX}/rover-a/episode/next`, 'next', { qos: 1 });
    await op.publishAsync(`${PREFIX}/rover-a/episode/next`, JSON.stringify(signEpisodeNext({ robot: 'rover-a', reason: 'scene reset', privateKeyPem: alice.privateKeyPem })), { qos: 1 });
    await waitFor(() => nexts.length === 2, 10_000, 'two next messages');
    expect(nexts.map((d) => (d.action === 'refused' ? `refused:${d.code}` : d.action))).toEqual(['refused:unsigned', 'next']);
    expect(await publishCode(robotRaw, `${PREFIX}/rover-a/episode/next`, 'next')).toBe(135);
    expect(await publishCode(robotRaw, `${PREFIX}/rover-a/episode/next/result`, '{"ok":true}')).toBe(0);
    await robotRaw.endAsync();
    await op.endAsync();
    await robot.close();
  });

  it('(c) a robot user publishing under another robot\'s prefix is refused by the broker, and nothing of it reaches the recorder', async () => {
    const out = tmpDir('rec-acl');
    const rec = new Recorder({ mqttUrl: broker.url, ...tls(), ...as('rec+site1'), outDir: out, prefix: PREFIX, robot: 'rover-b', finalizeIntervalMs: 50 });
    const watcher = await client('op+alice'); // sees everything under the prefix
    const seen: string[] = [];
    watcher.on('message', (t) => seen.push(t));
    await watcher.subscribeAsync(`${PREFIX}/#`, { qos: 1 });
    await waitFor(() => rec.stats().connected, 10_000, 'recorder connected');
    await new Promise((r) => setTimeout(r, 150));
    const forged = syntheticEpisode('rover-b', `ep-forged-${randomBytes(3).toString('hex')}`, 0, 30, 10);
    // rover-a's credentials, claiming to be rover-b: every record is refused (PUBACK "not authorized").
    const impostor = await client('rover-a');
    const codes = [
      await publishCode(impostor, `${PREFIX}/rover-b/episodes/${forged.start.episode}/start`, JSON.stringify(forged.start)),
      ...(await Promise.all(forged.batches.map(async (b) => {
        try {
          await impostor.publishAsync(`${PREFIX}/rover-b/episodes/${forged.start.episode}/steps`, Buffer.from(b.bytes), { qos: 1 });
          return 0;
        } catch (e) {
          return (e as { code?: number }).code ?? -1;
        }
      }))),
      await publishCode(impostor, `${PREFIX}/rover-b/episodes/${forged.start.episode}/end`, JSON.stringify(forged.end)),
      await publishCode(impostor, `${PREFIX}/rover-b/status`, '{"state":"online"}'),
    ];
    expect(codes).toEqual(new Array(forged.batches.length + 3).fill(135));
    // Recorders and operators may not publish episodes either.
    const recUser = await client('rec+site1');
    expect(await publishCode(recUser, `${PREFIX}/rover-b/episodes/${forged.start.episode}/start`, JSON.stringify(forged.start))).toBe(135);
    expect(await publishCode(watcher, `${PREFIX}/rover-b/episodes/${forged.start.episode}/start`, JSON.stringify(forged.start))).toBe(135);
    // The real rover-b then publishes its own episode: once it is stored, the broker has long
    // decided on the forged records (refused before the real ones were sent).
    const real = await EpisodePublisher.open({ mqttUrl: broker.url, ...tls(), ...as('rover-b'), robot: 'rover-b', prefix: PREFIX, outboxDir: tmpDir('ob-real') });
    const ep = syntheticEpisode('rover-b', `ep-real-${randomBytes(3).toString('hex')}`, 0, 20, 10);
    real.publishStart(ep.start);
    for (const b of ep.batches) real.publishBatch(b.episode, b.seq0, b.count, b.bytes);
    real.publishEnd(ep.end);
    await waitFor(() => rec.catalog.get(ep.start.episode)?.status === 'complete', 10_000, 'real episode stored');
    await waitFor(() => seen.some((t) => t.endsWith(`${ep.start.episode}/end`)), 5000, 'watcher saw the real end');
    expect(rec.catalog.list({ robot: 'rover-b' }).map((r) => r.episode)).toEqual([ep.start.episode]);
    expect(rec.catalog.get(forged.start.episode)).toBeUndefined();
    expect(seen.filter((t) => t.includes(forged.start.episode))).toEqual([]);
    await real.close();
    await Promise.all([impostor.endAsync(), recUser.endAsync(), watcher.endAsync()]);
    await rec.close();
  });

  it('(d) a wrong password, an unknown user, no password and an unverified certificate are refused', async () => {
    await expect(client('rover-a', 'not-the-password')).rejects.toMatchObject({ code: 135 });
    await expect(client('rover-z', 'whatever')).rejects.toMatchObject({ code: 135 });
    await expect(mqtt.connectAsync(broker.url, { ca: readFileSync(broker.caFile), protocolVersion: 5, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 135 });
    // Without the CA the broker's self-signed chain is not trusted (rejectUnauthorized defaults to true).
    await expect(mqtt.connectAsync(broker.url, { ...as('rover-a'), protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/self-signed certificate/);
    // The robot's own client keeps retrying with backoff but never gets in, and says why.
    const pub = await EpisodePublisher.open({ mqttUrl: broker.url, ...tls(), username: 'rover-a', password: 'wrong', robot: 'rover-a', prefix: PREFIX, outboxDir: tmpDir('ob-bad'), reconnectMinMs: 50, reconnectMaxMs: 200 });
    await waitFor(() => pub.stats().lastError !== undefined, 10_000, 'a connection error');
    expect(pub.stats()).toMatchObject({ connected: false, lastError: expect.stringMatching(/Not authorized/) });
    await pub.close(200);
  });
});
