// fa-onnx as an onnxruntime-common backend.
//
// onnxruntime-common picks a backend by the names in `executionProviders`. onnxruntime-node
// registers its backend as 'cpu', 'cuda', ... with priority 100; we register ours under our own
// names, 'fa-onnx-cpu' and 'fa-onnx-cuda', with a negative priority, which onnxruntime-common never
// picks on its own. So:
//   - InferenceSession.create(model) and executionProviders ['cpu'] still reach onnxruntime-node,
//     as before (its sessions simply cannot run our ops);
//   - executionProviders ['fa-onnx-cpu'] or [{name: 'fa-onnx-cuda', deviceId}] reach ours, which
//     registers libfa_onnx_ops with every session;
//   - createSession (create-session.ts) maps plain 'cpu'/'cuda' to our names for you.
// Both backends drive the same libonnxruntime.so.1 (paths.ts), so they share one ORT environment.
//
// The registry lives in onnxruntime-common's module instance: the ESM and CJS builds of fa-onnx
// each register with the onnxruntime-common of their own module system (ESM import or require).
import { registerBackend } from 'onnxruntime-common';
import type { Backend, InferenceSession, InferenceSessionHandler } from 'onnxruntime-common';

import { loadNative } from './native.js';
import { FaOnnxSessionHandler } from './session-handler.js';

/** The onnxruntime-common backend names (execution provider names) of fa-onnx sessions. */
export const backendNames = { cpu: 'fa-onnx-cpu', cuda: 'fa-onnx-cuda' } as const;

class FaOnnxBackend implements Backend {
  async init(): Promise<void> {
    loadNative();
  }

  async createInferenceSessionHandler(
    model: string | Uint8Array,
    options?: InferenceSession.SessionOptions,
  ): Promise<InferenceSessionHandler> {
    return FaOnnxSessionHandler.create(model, options ?? {});
  }
}

export const faOnnxBackend: Backend = new FaOnnxBackend();

registerBackend(backendNames.cpu, faOnnxBackend, -1);
registerBackend(backendNames.cuda, faOnnxBackend, -1);
