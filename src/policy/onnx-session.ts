/**
 * An onnxruntime-node session that can run synchronously.
 *
 * The public `InferenceSession.run` (onnxruntime-node 1.30) is the native
 * synchronous run deferred with setImmediate (microsoft/onnxruntime#19610,
 * kept so a server's main thread is not starved; #26968 asks for a runSync),
 * plus per-call argument checks and result wrapping. For a batch-1 MLP that
 * is a large share of the call: measured here ~15 µs of a ~30-50 µs step on
 * a 48→256→256→12 MLP. The policy runs in its own worker thread, where
 * yielding to the event loop per step buys nothing, so we load the model
 * through the package's native binding (the same object the public session
 * wraps: `onnxruntime-node/dist/binding.js`) and call its `run` directly.
 * If that binding is not where 1.30 keeps it, the public async API is used.
 */
import type * as Ort from 'onnxruntime-node';

type Feeds = Record<string, Ort.Tensor>;
type Fetches = Record<string, Ort.Tensor | null>;

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Present when the native binding was reachable: runs in this call, no event-loop turn. */
  readonly runSync: ((feeds: Feeds, fetches: Fetches) => Record<string, Ort.Tensor>) | null;
  run(feeds: Feeds, fetches: Fetches): Promise<Record<string, Ort.Tensor>>;
  release(): Promise<void>;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: Ort.InferenceSession.SessionOptions): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Feeds, fetches: Fetches, options?: object): Record<string, Ort.Tensor>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

async function nativeBinding(): Promise<NativeBinding | null> {
  try {
    const mod = (await import('onnxruntime-node/dist/binding.js' as string)) as Partial<NativeBinding> & { default?: Partial<NativeBinding> };
    const b = mod.binding ? mod : mod.default;
    return b?.binding && typeof b.initOrt === 'function' ? (b as NativeBinding) : null;
  } catch {
    return null;
  }
}

export async function openOrtSession(ort: typeof Ort, bytes: Uint8Array, options: Ort.InferenceSession.SessionOptions): Promise<OrtSession> {
  const native = await nativeBinding();
  if (native) {
    // The public session constructor does exactly this (backend.js), minus the setImmediate.
    native.initOrt();
    const s = new native.binding.InferenceSession();
    s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
    // Two arguments, not three: given a run-options object (even an empty one) the binding
    // allocates and parses an Ort::RunOptions on every call; without it, it reuses its default.
    const runSync = (feeds: Feeds, fetches: Fetches) => s.run(feeds, fetches);
    return {
      inputNames: s.inputMetadata.map((m) => m.name),
      outputNames: s.outputMetadata.map((m) => m.name),
      runSync,
      run: async (feeds, fetches) => runSync(feeds, fetches),
      release: async () => s.dispose(),
    };
  }
  const s = await ort.InferenceSession.create(bytes, options);
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    runSync: null,
    run: (feeds, fetches) => s.run(feeds, fetches) as Promise<Record<string, Ort.Tensor>>,
    release: () => s.release(),
  };
}
