// The typed surface of fa_onnx_addon.node (src/loader/native/) and its one-time loading.
import * as fs from 'node:fs';

import { addonPath, buildCommand, ortLibraryPath, packageRequire } from './paths.js';

/** A tensor as the addon takes and gives it: `type` is ONNX Runtime's element type number. */
export interface NativeTensor {
  name?: string;
  type: number;
  dims: readonly number[];
  data: ArrayBufferView | ArrayBuffer | readonly string[];
}

export interface NativeValueMetadata {
  name: string;
  isTensor: boolean;
  type?: number;
  shape?: number[];
  symbolicDimensions?: string[];
}

/** The settings the addon applies to OrtSessionOptions (built by options.ts). */
export interface NativeSessionConfig {
  opsLibrary: string;
  graphOptimizationLevel?: number;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: number;
  enableCpuMemArena?: number;
  enableMemPattern?: number;
  logId?: string;
  logSeverityLevel?: number;
  optimizedModelFilePath?: string;
  profileFilePrefix?: string;
  configEntries?: Array<[string, string]>;
  freeDimensionOverrides?: Array<[string, number]>;
  providers: Array<{ name: 'cpu' | 'cuda'; deviceId?: number }>;
}

export interface NativeFetch {
  name: string;
  preallocated?: NativeTensor;
}

export interface NativeRunOptions {
  logSeverityLevel?: number;
  tag?: string;
}

export interface NativeSession {
  load(model: string | Uint8Array, config: NativeSessionConfig): Promise<void>;
  metadata(): { inputs: NativeValueMetadata[]; outputs: NativeValueMetadata[] };
  /** Resolves to one entry per fetch: the output read from ORT, or null where it was pre-allocated. */
  run(feeds: NativeTensor[], fetches: NativeFetch[], options: NativeRunOptions): Promise<Array<NativeTensor | null>>;
  /** Stops profiling; returns the profile file's path. */
  endProfiling(): string;
  release(): void;
}

export interface RuntimeInfo {
  version: string;
  apiVersion: number;
  libraryPath: string;
  providers: string[];
}

interface Addon {
  init(ortLibraryPath: string): RuntimeInfo;
  Session: new () => NativeSession;
}

let loaded: { addon: Addon; runtime: RuntimeInfo } | undefined;

/** Loads the addon and ONNX Runtime (once per process); throws a message that says what to do. */
export function loadNative(): { addon: Addon; runtime: RuntimeInfo } {
  if (loaded) return loaded;
  if (!fs.existsSync(addonPath)) {
    throw new Error(`fa-onnx: the native addon is not built (${addonPath} is missing); build it with \`${buildCommand}\``);
  }
  let addon: Addon;
  try {
    addon = packageRequire(addonPath) as Addon;
  } catch (error) {
    throw new Error(`fa-onnx: cannot load the native addon ${addonPath} (rebuild it with \`${buildCommand}\`): ${(error as Error).message}`);
  }
  const runtime = addon.init(ortLibraryPath());
  loaded = { addon, runtime };
  return loaded;
}
