import { spawnSync, execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../src/core/mailbox.js';
import { renderScene, sceneValues, SCENE_SIZE, type Scene } from '../../src/vision/sim-camera.js';
import { SimSource } from '../../src/vision/sim-source.js';
import { FfmpegSource } from '../../src/vision/ffmpeg-source.js';
import { MqttSource, cameraTopic } from '../../src/vision/mqtt-source.js';
import { encodeJpeg, encodePng } from '../../src/vision/image-codec.js';
import { parseCameraSource } from '../../src/vision/camera-spec.js';
import { startEmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

const tmp = tempDirs();
const cam = { name: 'front', source: 'sim', width: 64, height: 48, hz: 20 };
const red = (rgb: Uint8Array) => {
  let n = 0;
  for (let i = 0; i < rgb.length; i += 3) if (rgb[i] === 230 && rgb[i + 1] === 30) n++;
  return n;
};

describe('sim camera', () => {
  const scene = (x: number): Scene => ({ x, y: 0, theta: 0, beaconX: 2, beaconY: 0, arenaHalf: 3, obstacles: [{ x: 0, y: 1.5, r: 0.2 }] });
  it('shows the beacon bigger when the rover is closer, and nothing of it when it faces away', () => {
    const far = red(renderScene(scene(-2), 96, 72));
    const mid = red(renderScene(scene(0), 96, 72));
    const near = red(renderScene(scene(1.5), 96, 72));
    expect(far).toBeGreaterThan(0);
    expect(mid).toBeGreaterThan(2 * far);
    expect(near).toBeGreaterThan(2 * mid);
    expect(red(renderScene({ ...scene(0), theta: Math.PI }, 96, 72))).toBe(0);
  });

  it('renders what the control thread published, once per new pose, stamped with its tick time', () => {
    const mb = Mailbox.create(SCENE_SIZE);
    const src = new SimSource(cam, mb);
    expect(src.take()).toBeNull();
    mb.write(sceneValues(scene(1.5), new Float64Array(SCENE_SIZE)), 123_000_000n);
    const f = src.take()!;
    expect([f.width, f.height, f.seq, f.tNs]).toEqual([64, 48, 1, 123_000_000n]);
    expect(red(f.rgb)).toBeGreaterThan(0);
    expect(src.take()).toBeNull(); // the same pose is not a new frame
  });
});

describe('ffmpeg camera', () => {
  it('cuts raw RGB frames from a generated video, counts what it drops, and restarts a dead ffmpeg', async () => {
    const spec = parseCameraSource('camera.source', 'ffmpeg:lavfi:testsrc=size=320x240:rate=20');
    expect(spec).toEqual({ kind: 'ffmpeg', args: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=20'] });
    const src = new FfmpegSource({ ...cam, source: 'ffmpeg:lavfi:testsrc' }, spec.kind === 'ffmpeg' ? spec.args : []);
    try {
      await until(() => src.counters().received >= 5, 'frames from ffmpeg', 20_000);
      const f = src.take()!;
      expect([f.width, f.height, f.rgb.length]).toEqual([64, 48, 64 * 48 * 3]);
      // testsrc is colourful: not a blank frame.
      expect(new Set(f.rgb).size).toBeGreaterThan(20);
      await until(() => src.counters().dropped > 0, 'a frame overwritten before it was taken', 10_000);
      // Unplugged: kill the ffmpeg child (ours); the source restarts it and frames come back.
      const pid = execFileSync('pgrep', ['-P', String(process.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n')[0]!;
      process.kill(Number(pid), 'SIGKILL');
      await until(() => src.counters().restarts === 1, 'the restart', 10_000);
      expect(src.lastError).toMatch(/^ffmpeg exited \(SIGKILL\)/);
      const n = src.counters().received;
      await until(() => src.counters().received > n + 3, 'frames after the restart', 20_000);
    } finally {
      await src.close();
    }
  }, 60_000);

  it('a video file ffmpeg cannot read is a counted error, not an exception', async () => {
    const bad = join(tmp('rewardd-ffmpeg-'), 'broken.mp4');
    writeFileSync(bad, 'not a video');
    const src = new FfmpegSource(cam, ['-i', bad]);
    try {
      await until(() => src.counters().restarts >= 1, 'ffmpeg to give up on the file', 10_000);
      expect(src.lastError).toMatch(/^ffmpeg exited \(code \d+\): .*broken\.mp4/);
      expect(src.take()).toBeNull();
    } finally {
      await src.close();
    }
  });
});

describe('MQTT camera (frames from mosquitto_pub, a client we did not write)', () => {
  const haveMosquittoPub = spawnSync('mosquitto_pub', ['--help']).error === undefined;
  it.skipIf(!haveMosquittoPub)('decodes JPEG and PNG frames, keeps the newest, and counts garbage', async () => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    const topic = cameraTopic(`rewardd-cam-${Math.random().toString(16).slice(2, 8)}/v1`, 'rover', 'front');
    const src = new MqttSource(broker.url, topic);
    const port = new URL(broker.url).port;
    const dir = tmp('rewardd-mqtt-cam-');
    const img = { width: 40, height: 30, rgb: renderScene({ x: 1, y: 0, theta: 0, beaconX: 2, beaconY: 0, arenaHalf: 3, obstacles: [] }, 40, 30) };
    writeFileSync(join(dir, 'f.jpg'), encodeJpeg(img, 90));
    writeFileSync(join(dir, 'f.png'), encodePng(img));
    writeFileSync(join(dir, 'junk.bin'), Buffer.from('definitely not an image'));
    // Async: the broker runs in this process, so a blocking call would hold it up.
    const pub = (file: string) => promisify(execFile)('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', topic, '-f', join(dir, file)]);
    try {
      await new Promise((r) => setTimeout(r, 300)); // subscribed
      await pub('f.jpg');
      await until(() => src.counters().received === 1, 'the JPEG');
      const j = src.take()!;
      expect([j.width, j.height]).toEqual([40, 30]);
      expect(red(j.rgb)).toBe(0); // JPEG is lossy: the beacon is there, not exactly (230, 30, 30)
      await pub('f.png');
      await until(() => src.counters().received === 2, 'the PNG');
      const p = src.take()!;
      expect(Buffer.from(p.rgb).equals(Buffer.from(img.rgb))).toBe(true); // lossless
      await pub('junk.bin');
      await until(() => src.counters().received === 3, 'the garbage');
      expect(src.take()).toBeNull();
      expect(src.counters().garbage).toBe(1);
      expect(src.lastError).toMatch(/^E_VISION: frame: expected a JPEG \(ff d8 ff\) or PNG image, found 23 bytes starting 64 65 66 69$/);
      await pub('f.jpg');
      await pub('f.png');
      await until(() => src.counters().received === 5, 'two more frames');
      expect(src.counters().dropped).toBe(1); // the JPEG was overwritten by the PNG before it was taken
      expect(Buffer.from(src.take()!.rgb).equals(Buffer.from(img.rgb))).toBe(true);
    } finally {
      await src.close();
      await broker.close();
    }
  });
});
