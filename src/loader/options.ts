// onnxruntime-common session options → the addon's NativeSessionConfig.
import type { InferenceSession } from 'onnxruntime-common';

import type { NativeSessionConfig } from './native.js';

/** Execution providers createSession understands, by their onnxruntime-common names. */
export type ExecutionProvider = 'cpu' | 'cuda' | { name: 'cpu' } | { name: 'cuda'; deviceId?: number };

/** The session options createSession takes: onnxruntime-common's, with our provider names. */
export type SessionOptions = Omit<InferenceSession.SessionOptions, 'executionProviders'> & {
  executionProviders?: readonly ExecutionProvider[];
};

const optimizationLevels: Record<string, number> = { disabled: 0, basic: 1, extended: 2, layout: 3, all: 99 };

function count(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`fa-onnx: ${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function flag(value: unknown): number | undefined {
  return value === undefined ? undefined : value ? 1 : 0;
}

// onnxruntime-node turns nested `extra` objects into dotted config keys ({session: {x: '1'}} →
// 'session.x'); we do the same so the same options mean the same thing.
function flatten(extra: unknown, prefix: string, out: Array<[string, string]>): void {
  if (extra === null || typeof extra !== 'object') {
    out.push([prefix, String(extra)]);
    return;
  }
  for (const [key, value] of Object.entries(extra)) flatten(value, prefix ? `${prefix}.${key}` : key, out);
}

/**
 * Our backend's provider names ('fa-onnx-cpu', 'fa-onnx-cuda') or plain 'cpu'/'cuda' → the
 * addon's provider list. Unknown providers are an error, not silently dropped.
 */
export function toNativeProviders(providers: readonly unknown[] | undefined): NativeSessionConfig['providers'] {
  const out: NativeSessionConfig['providers'] = [];
  for (const provider of providers ?? []) {
    const raw = typeof provider === 'string' ? provider : (provider as { name?: unknown } | null)?.name;
    const name = typeof raw === 'string' ? raw.replace(/^fa-onnx-/, '') : undefined;
    if (name !== 'cpu' && name !== 'cuda') {
      throw new Error(`fa-onnx: unsupported execution provider ${JSON.stringify(raw ?? provider)}; fa-onnx sessions support 'cpu' and 'cuda'`);
    }
    if (name === 'cuda') {
      const deviceId = typeof provider === 'object' ? count((provider as { deviceId?: unknown }).deviceId, 'deviceId') : undefined;
      out.push({ name, deviceId: deviceId ?? 0 });
    } else {
      out.push({ name });
    }
  }
  return out;
}

export function toNativeConfig(options: InferenceSession.SessionOptions, opsLibrary: string): NativeSessionConfig {
  const config: NativeSessionConfig = { opsLibrary, providers: toNativeProviders(options.executionProviders) };
  if (options.graphOptimizationLevel !== undefined) {
    const level = optimizationLevels[options.graphOptimizationLevel];
    if (level === undefined) throw new TypeError(`fa-onnx: unknown graphOptimizationLevel ${JSON.stringify(options.graphOptimizationLevel)}`);
    config.graphOptimizationLevel = level;
  }
  config.intraOpNumThreads = count(options.intraOpNumThreads, 'intraOpNumThreads');
  config.interOpNumThreads = count(options.interOpNumThreads, 'interOpNumThreads');
  if (options.executionMode !== undefined) {
    if (options.executionMode !== 'sequential' && options.executionMode !== 'parallel') {
      throw new TypeError(`fa-onnx: unknown executionMode ${JSON.stringify(options.executionMode)}`);
    }
    config.executionMode = options.executionMode === 'parallel' ? 1 : 0;
  }
  config.enableCpuMemArena = flag(options.enableCpuMemArena);
  config.enableMemPattern = flag(options.enableMemPattern);
  if (options.logId !== undefined) config.logId = String(options.logId);
  if (options.logSeverityLevel !== undefined) {
    const level = options.logSeverityLevel as number;
    if (!Number.isInteger(level) || level < 0 || level > 4) throw new TypeError(`fa-onnx: logSeverityLevel must be 0-4, got ${level}`);
    config.logSeverityLevel = level;
  }
  if (options.optimizedModelFilePath !== undefined) config.optimizedModelFilePath = options.optimizedModelFilePath;
  // As in onnxruntime-node: profiling starts with the session; endProfiling() writes the file.
  if (options.enableProfiling) config.profileFilePrefix = options.profileFilePrefix || 'onnxruntime_profile';
  if (options.freeDimensionOverrides !== undefined) {
    config.freeDimensionOverrides = Object.entries(options.freeDimensionOverrides).map(([name, value]) => [
      name,
      count(value, `freeDimensionOverrides.${name}`) as number,
    ]);
  }
  if (options.extra !== undefined) {
    const entries: Array<[string, string]> = [];
    flatten(options.extra, '', entries);
    config.configEntries = entries;
  }
  return config;
}
