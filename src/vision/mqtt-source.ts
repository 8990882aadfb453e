/**
 * Frames published by another process as JPEG or PNG on
 * <prefix>/<robot>/camera/<name> (QoS 0: a lost frame is replaced by the
 * next). Only the newest message is kept; it is decoded when the encoder
 * takes it, so frames the encoder skips cost no decode. A message over
 * MAX_MESSAGE_BYTES or one that does not decode is garbage: counted, dropped,
 * its reason in lastError.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { decodeImage } from './image-codec.js';
import type { Frame } from './frame.js';
import type { FrameSource, SourceCounters } from './frame-source.js';

export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export function cameraTopic(prefix: string, robot: string, camera: string): string {
  return `${prefix}/${robot}/camera/${camera}`;
}

export class MqttSource implements FrameSource {
  readonly kind = 'mqtt';
  private readonly client: MqttClient;
  private newest: { bytes: Buffer; tNs: bigint } | null = null;
  private seq = 0;
  private readonly c: SourceCounters = { received: 0, dropped: 0, garbage: 0, restarts: 0 };
  lastError = '';
  private connectedOnce = false;

  constructor(url: string, readonly topic: string) {
    this.client = mqtt.connect(url, { reconnectPeriod: 1000, clientId: `rewardd-camera-${process.pid}-${Math.random().toString(16).slice(2, 8)}` });
    this.client.on('connect', () => {
      if (this.connectedOnce) this.c.restarts++;
      this.connectedOnce = true;
      this.client.subscribe(topic, { qos: 0 });
    });
    this.client.on('error', (e) => (this.lastError = `mqtt: ${e.message}`));
    this.client.on('message', (_t, payload) => {
      this.c.received++;
      if (payload.length > MAX_MESSAGE_BYTES) {
        this.c.garbage++;
        this.lastError = `frame of ${payload.length} bytes on ${topic}: expected at most ${MAX_MESSAGE_BYTES}`;
        return;
      }
      if (this.newest) this.c.dropped++;
      this.newest = { bytes: payload, tNs: process.hrtime.bigint() };
    });
  }

  take(): Frame | null {
    const m = this.newest;
    this.newest = null;
    if (!m) return null;
    try {
      const img = decodeImage(m.bytes);
      return { seq: ++this.seq, tNs: m.tNs, width: img.width, height: img.height, rgb: img.rgb };
    } catch (e) {
      this.c.garbage++;
      this.lastError = (e as Error).message;
      return null;
    }
  }

  counters(): SourceCounters {
    return { ...this.c };
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.client.end(true, {}, () => r()));
  }
}
