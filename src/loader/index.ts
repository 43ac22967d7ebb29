// The loader's public surface: src/index.ts re-exports it.
export { createSession, runtimeInfo } from './create-session.js';
export { backendNames } from './backend.js';
export { opsLibraryPath } from './paths.js';
export type { ExecutionProvider, SessionOptions } from './options.js';
export type { RuntimeInfo } from './native.js';
