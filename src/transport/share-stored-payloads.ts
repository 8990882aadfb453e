import type { MqttClient, Packet } from 'mqtt';

/**
 * Stops mqtt.js copying every QoS 1 payload it sends.
 *
 * Before a PUBLISH goes out, mqtt.js (5.x, `_storeAndSend`) deep-copies the packet with rfdc,
 * payload included, and keeps the copy in its outgoing store until the PUBACK, so that it can
 * strip a topic alias from the stored copy without touching the one being written. For the
 * robot's step batches that copy is pure cost: the payload is an immutable encoded batch that the
 * disk outbox already holds until the same PUBACK. Measured on a 54 KiB batch it was the largest
 * single item of the publishing thread's profile (a fresh buffer, a memcpy and its garbage), and
 * it doubled the memory of the in-flight window (256 batches: ~14 MiB).
 *
 * The replacement keeps mqtt.js's behaviour (store, then write; topic alias removed from the
 * stored packet) but stores a shallow copy that shares the payload. Callers must never mutate a
 * payload after publishing it; rewardd's publisher never does. If a future mqtt.js no longer has
 * the methods this relies on, nothing is patched and mqtt.js simply keeps copying (slower, still
 * correct); the return value says which happened.
 */
interface StoreAndSendClient {
  _storeAndSend(packet: Packet, cb: ((e?: Error) => void) | undefined, cbStorePut: () => void): void;
  _removeTopicAliasAndRecoverTopicName(packet: Packet): Error | undefined;
  _writePacket(packet: Packet, cb?: (e?: Error) => void): void;
  outgoingStore: { put(packet: Packet, cb: (e?: Error) => void): unknown };
}

export function shareStoredPayloads(client: MqttClient): boolean {
  const c = client as unknown as StoreAndSendClient;
  if (typeof c._storeAndSend !== 'function' || typeof c._removeTopicAliasAndRecoverTopicName !== 'function' || typeof c._writePacket !== 'function') return false;
  c._storeAndSend = function storeAndSendShared(this: StoreAndSendClient, packet, cb, cbStorePut) {
    let stored = packet;
    if (packet.cmd === 'publish') {
      // Shallow: the topic and properties may be rewritten on the copy, the payload is shared.
      stored = { ...packet, ...(packet.properties ? { properties: { ...packet.properties } } : {}) };
      const err = this._removeTopicAliasAndRecoverTopicName(stored);
      if (err) return cb?.(err);
    }
    this.outgoingStore.put(stored, (err2) => {
      if (err2) return cb?.(err2);
      cbStorePut();
      this._writePacket(packet, cb);
    });
  };
  return true;
}
