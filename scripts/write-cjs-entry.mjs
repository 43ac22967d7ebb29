#!/usr/bin/env node
// Writes the CommonJS entry point, dist/cjs/index.cjs, after `tsc` has built the ESM package in
// dist/esm. fa-onnx is ESM only; CommonJS callers get the very same module through require(esm)
// (Node >= 20.19), so there is one copy of the code, of its state and of its backend registration.
// usage: node scripts/write-cjs-entry.mjs [DIST_DIR]   (default: dist next to package.json)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
if (!fs.existsSync(path.join(dist, 'esm', 'index.js'))) {
  console.error(`write-cjs-entry: ${path.join(dist, 'esm', 'index.js')} is missing; run tsc first`);
  process.exit(1);
}
const entry = `'use strict';
// fa-onnx is an ES module; this CommonJS entry hands require() callers the same module (require(esm)).
try {
  module.exports = require('../esm/index.js');
} catch (error) {
  if (error && error.code === 'ERR_REQUIRE_ESM') {
    throw new Error(\`fa-onnx: require('fa-onnx') needs Node >= 20.19 (this is \${process.version}); use import() instead\`);
  }
  throw error;
}
`;
fs.mkdirSync(path.join(dist, 'cjs'), { recursive: true });
fs.writeFileSync(path.join(dist, 'cjs', 'index.cjs'), entry);
