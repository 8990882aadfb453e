import { describe, expect, it } from 'vitest';
import mqtt, { type IPublishPacket, type Packet } from 'mqtt';
import { shareStoredPayloads } from '../../src/transport/share-stored-payloads.js';
import { embeddedBrokerForFile, collect, MQTT_URL, uniquePrefix, waitFor } from './helpers.js';

const embedded = embeddedBrokerForFile();

const brokers = (): [string, () => string, 4 | 5][] => [
  ['embedded aedes (MQTT 3.1.1)', () => embedded().url, 4],
  ...(MQTT_URL ? [['MQTT_URL (MQTT 5)', () => MQTT_URL, 5] as [string, () => string, 4 | 5]] : []),
];

describe.each(brokers())('shareStoredPayloads against %s', (_name, url, protocolVersion) => {
  it('keeps the payload itself in the outgoing store (no copy) and still delivers every byte', async () => {
    const prefix = uniquePrefix();
    const sub = await collect(url(), `${prefix}/#`);
    const pub = await mqtt.connectAsync(url(), { protocolVersion });
    expect(shareStoredPayloads(pub)).toBe(true);
    const stored: Packet[] = [];
    const store = (pub as unknown as { outgoingStore: { put(p: Packet, cb: (e?: Error) => void): unknown } }).outgoingStore;
    const put = store.put.bind(store);
    store.put = (p, cb) => (stored.push(p), put(p, cb));

    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.alloc(55_000, i));
    const props = protocolVersion === 5 ? { properties: { userProperties: { batch: 'x' } } } : {};
    await Promise.all(payloads.map((p) => pub.publishAsync(`${prefix}/r/episodes/e/steps`, p, { qos: 1, ...props })));

    expect(stored).toHaveLength(20);
    stored.forEach((s, i) => expect((s as IPublishPacket).payload).toBe(payloads[i])); // the same object: not copied
    await waitFor(() => sub.messages.length === 20, 5000, '20 messages');
    sub.messages.forEach((m, i) => expect(m.payload.equals(payloads[i]!)).toBe(true));
    await pub.endAsync();
    await sub.close();
  });

  it('stores a copy of the packet, so rewriting the stored topic or properties leaves the sent one alone', async () => {
    const pub = await mqtt.connectAsync(url(), { protocolVersion });
    shareStoredPayloads(pub);
    const c = pub as unknown as { _storeAndSend(p: Packet, cb: () => void, put: () => void): void; outgoingStore: { put(p: Packet, cb: (e?: Error) => void): unknown }; _writePacket(p: Packet, cb?: () => void): void };
    let storedPacket: IPublishPacket | undefined;
    let written: IPublishPacket | undefined;
    c.outgoingStore.put = (p, cb) => ((storedPacket = p as IPublishPacket), cb());
    c._writePacket = (p, cb) => ((written = p as IPublishPacket), cb?.());
    const packet: IPublishPacket = { cmd: 'publish', topic: 't/x', payload: Buffer.from('abc'), qos: 1, dup: false, retain: false, messageId: 7, properties: { topicAlias: 3 } };
    c._storeAndSend(packet, () => {}, () => {});
    expect(written).toBe(packet);
    expect(storedPacket).not.toBe(packet);
    expect(storedPacket!.payload).toBe(packet.payload);
    // mqtt.js strips the topic alias from what it stores (a resend must carry the topic): on the copy only.
    expect(storedPacket!.properties?.topicAlias).toBeUndefined();
    expect(packet.properties?.topicAlias).toBe(3);
    await pub.endAsync(true);
  });
});
