// createSession: an onnxruntime-common InferenceSession with the fa-onnx ops registered.
import { InferenceSession, Tensor } from 'onnxruntime-common';

import { backendNames } from './backend.js';
import { loadNative } from './native.js';
import type { RuntimeInfo } from './native.js';
import { toNativeProviders } from './options.js';
import type { SessionOptions } from './options.js';

/**
 * InferenceSession.run recognises pre-allocated outputs with `instanceof Tensor`, and a process can
 * hold two Tensor classes (onnxruntime-common's ESM and CJS copies; onnxruntime-node re-exports the
 * CJS one). A Tensor of the other copy is re-wrapped around the same data, so the run still writes
 * into the caller's array.
 */
function acceptForeignTensorFetches(session: InferenceSession): InferenceSession {
  const run = session.run.bind(session) as (feeds: unknown, fetches?: unknown, options?: unknown) => Promise<InferenceSession.ReturnType>;
  const outputNames = new Set(session.outputNames);
  const looksLikeTensor = (v: unknown): v is Tensor =>
    typeof v === 'object' && v !== null && !(v instanceof Tensor) && typeof (v as Tensor).type === 'string' && Array.isArray((v as Tensor).dims) && 'data' in v;
  Object.defineProperty(session, 'run', {
    value: (feeds: unknown, fetches?: unknown, options?: unknown) => {
      if (typeof fetches === 'object' && fetches !== null && !Array.isArray(fetches)) {
        const entries = Object.entries(fetches);
        if (entries.some(([name, v]) => outputNames.has(name) && looksLikeTensor(v))) {
          fetches = Object.fromEntries(
            entries.map(([name, v]) => [name, outputNames.has(name) && looksLikeTensor(v) ? new Tensor(v.type, v.data as Float32Array, v.dims) : v]),
          );
        }
      }
      return run(feeds, fetches, options);
    },
  });
  return session;
}

/**
 * Creates an onnxruntime-common InferenceSession (the same `run`, `inputNames`, `outputNames`,
 * metadata and `release` as onnxruntime-node's) with the fa-onnx custom-op library registered.
 *
 * `options.executionProviders` takes 'cpu' (the default) and 'cuda' / {name: 'cuda', deviceId};
 * CUDA needs a runtime with the CUDA provider (set FA_ONNX_ORT_LIBRARY to its libonnxruntime.so.1).
 */
export async function createSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<InferenceSession> {
  if (typeof model !== 'string' && !(model instanceof Uint8Array)) {
    throw new TypeError('fa-onnx: createSession takes a model path or the model bytes as a Uint8Array');
  }
  const providers = toNativeProviders(options.executionProviders ?? ['cpu']);
  // Load now so a missing addon or runtime is reported as itself, not as onnxruntime-common's
  // "no available backend found".
  loadNative();
  const executionProviders = providers.map((p) => (p.name === 'cuda' ? { name: backendNames.cuda, deviceId: p.deviceId } : backendNames.cpu));
  const sessionOptions: InferenceSession.SessionOptions = { ...options, executionProviders };
  const session =
    typeof model === 'string' ? await InferenceSession.create(model, sessionOptions) : await InferenceSession.create(model, sessionOptions);
  return acceptForeignTensorFetches(session);
}

/** The ONNX Runtime that fa-onnx sessions use (loading it if needed): version, library path, providers. */
export function runtimeInfo(): RuntimeInfo {
  return { ...loadNative().runtime };
}
