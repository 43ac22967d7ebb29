// fa-onnx's public API (ESM: dist/esm/index.js; CJS: dist/cjs/index.js). Grouped by folder.

// Loading our ops into ONNX Runtime sessions (src/loader/).
export { createSession, runtimeInfo, opsLibraryPath, backendNames } from './loader/index.js';
export type { ExecutionProvider, SessionOptions, RuntimeInfo } from './loader/index.js';
// The Tensor class of the onnxruntime-common copy our sessions use (ESM or CJS, matching yours).
export { Tensor } from 'onnxruntime-common';
export type { InferenceSession } from 'onnxruntime-common';
