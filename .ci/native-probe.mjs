// Loads every native part rewardd uses, on this machine and this Node, and uses each once:
// one line per part, exit 1 at the first that fails. On a robot: `node .ci/native-probe.mjs`
// (after `npm ci` and `npm run build`). docs/platforms.md ran it on arm64 under qemu-aarch64.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { relaunchWithRewarddFlags } from '../dist/src/core/relaunch.js';

await relaunchWithRewarddFlags();
const require = createRequire(import.meta.url);
const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const out = (part, what) => process.stdout.write(`${part}: ${what}\n`);
out('node', `${process.version} ${process.platform}-${process.arch} abi${process.versions.modules}`);
const { default: ivm } = await import('#isolated-vm');
const isolate = new ivm.Isolate({ memoryLimit: 16 });
out('isolated-vm', `eval 6*7 = ${isolate.createContextSync().evalSync('6*7')}`);
isolate.dispose();
const { default: Database } = await import('#better-sqlite3');
out('better-sqlite3', `sqlite ${new Database(':memory:').prepare('select sqlite_version() as v').get().v}`);
const binding = require('@serialport/bindings-cpp').autoDetect();
out('@serialport/bindings-cpp', `list() is a ${typeof binding.list}`);
const extract = (() => { try { return require('msgpackr-extract'); } catch { return null; } })();
out('msgpackr-extract (optional)', extract ? `extractStrings is a ${typeof extract.extractStrings}` : 'not installed (msgpackr falls back to JavaScript)');
out('esbuild', JSON.stringify(require('esbuild').transformSync('let x: number = 1', { loader: 'ts' }).code.trim()));
const ort = require('onnxruntime-node');
const session = await ort.InferenceSession.create(join(root, 'policies', 'rover-reach', 'model.onnx'));
const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array([0.5, 0.1, 0, 0]), [1, 4]) });
out('onnxruntime-node', `rover-reach([0.5, 0.1, 0, 0]) = [${Array.from(result[session.outputNames[0]].data, (x) => x.toFixed(3))}]`);
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend('wasm');
out('tfjs wasm', `${tf.getBackend()}: sum([1, 2, 3]) = ${tf.tensor([1, 2, 3]).sum().dataSync()[0]}`);
