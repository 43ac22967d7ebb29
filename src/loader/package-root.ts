// Where the fa-onnx package lives on disk: the folder above this file (src/loader under vitest,
// dist/esm/loader when built) whose package.json is fa-onnx's. fa-onnx is ESM only (CommonJS
// callers reach it through require(esm)), so import.meta is available.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'fa-onnx') return dir;
      } catch {
        // not a readable manifest: keep walking
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`fa-onnx: cannot find the fa-onnx package folder above ${start}`);
  }
}

export const packageRoot: string = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
