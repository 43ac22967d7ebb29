// The files the loader needs: our addon and ops library (build/Release, written by
// `npm run build:native`) and the ONNX Runtime library that onnxruntime-node ships.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { packageRoot } from './package-root.js';

export { packageRoot };

/** The folder the native build writes to. */
export const nativeBuildDir: string = path.join(packageRoot, 'build', 'Release');

/** The N-API addon behind createSession. */
export const addonPath: string = path.join(nativeBuildDir, 'fa_onnx_addon.node');

const opsLibraryFile =
  process.platform === 'win32' ? 'fa_onnx_ops.dll' : process.platform === 'darwin' ? 'libfa_onnx_ops.dylib' : 'libfa_onnx_ops.so';

/**
 * Absolute path of the fa-onnx custom-op library, for
 * `SessionOptions.register_custom_ops_library(path)` (Python) and `RegisterCustomOpsLibrary` (C++).
 * `FA_ONNX_OPS_LIBRARY` overrides it (e.g. a library built elsewhere).
 */
export const opsLibraryPath: string = path.resolve(process.env['FA_ONNX_OPS_LIBRARY'] || path.join(nativeBuildDir, opsLibraryFile));

/** The command that builds the addon and the ops library. */
export const buildCommand = 'npm run build:native';

/** A `require` rooted in the package, for resolving onnxruntime-node and loading the addon. */
export const packageRequire: NodeJS.Require = createRequire(path.join(packageRoot, 'package.json'));

/**
 * The libonnxruntime the addon loads: `FA_ONNX_ORT_LIBRARY` when set (e.g. a runtime with the CUDA
 * provider), else the copy onnxruntime-node ships, the same file its own binding loads, so one
 * process has one runtime whichever API created a session.
 */
export function ortLibraryPath(): string {
  const override = process.env['FA_ONNX_ORT_LIBRARY'];
  if (override) {
    const resolved = path.resolve(override);
    if (!fs.existsSync(resolved)) {
      throw new Error(`fa-onnx: FA_ONNX_ORT_LIBRARY names ${resolved}, which does not exist`);
    }
    return resolved;
  }
  let nodePackageDir: string;
  try {
    nodePackageDir = path.dirname(packageRequire.resolve('onnxruntime-node/package.json'));
  } catch {
    throw new Error('fa-onnx: onnxruntime-node is not installed (run `npm install`), and FA_ONNX_ORT_LIBRARY is not set');
  }
  const libraryName = process.platform === 'darwin' ? 'libonnxruntime.dylib' : process.platform === 'win32' ? 'onnxruntime.dll' : 'libonnxruntime.so.1';
  const library = path.join(nodePackageDir, 'bin', 'napi-v6', process.platform, process.arch, libraryName);
  if (!fs.existsSync(library)) {
    throw new Error(
      `fa-onnx: ONNX Runtime library not found at ${library} (onnxruntime-node ships none for ${process.platform}/${process.arch}); ` +
        'set FA_ONNX_ORT_LIBRARY to a libonnxruntime.so.1',
    );
  }
  return library;
}
