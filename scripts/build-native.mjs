#!/usr/bin/env node
// Builds the native part of fa-onnx: the custom-op library (build/Release/libfa_onnx_ops.so) and the
// Node addon, through cmake-js. Runs on `npm install` and as `npm run build:native`.
//
// Before building it makes sure ONNX Runtime's C/C++ API headers are available (ONNXRUNTIME_INCLUDE_DIR,
// the system, else Debian's libonnxruntime-dev unpacked into .deps/debian) and fetches ONNX's
// conformance data (libonnx-testdata) for the tests; a failure to fetch the test data only warns.
//
// Environment: ONNXRUNTIME_INCLUDE_DIR (folder holding onnxruntime_c_api.h), FA_ONNX_CUDA=OFF (skip the
// CUDA kernels even when nvcc is found), FA_ONNX_BUILD_JOBS (parallel jobs, default 2),
// FA_ONNX_SKIP_TESTDATA=1 (do not fetch the conformance data).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const debianPrefix = path.join(root, '.deps', 'debian');
const fetchScript = path.join(root, 'scripts', 'fetch-debian-headers.sh');

function fail(message) {
  console.error(`\nfa-onnx native build failed: ${message}\n`);
  process.exit(1);
}

function runs(command, args) {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.status === 0;
}

function checkTools() {
  if (!runs('cmake', ['--version'])) {
    fail('cmake was not found on PATH. Install CMake 3.22 or later (e.g. `apt-get install cmake`).');
  }
  const cxx = process.env.CXX || (runs('c++', ['--version']) ? 'c++' : runs('g++', ['--version']) ? 'g++' : 'clang++');
  if (!runs(cxx, ['--version'])) {
    fail('no C++ compiler was found (tried $CXX, c++, g++, clang++). Install g++ 11+ or clang 14+, or set CXX.');
  }
}

const ortHeaderCandidates = () => [
  process.env.ONNXRUNTIME_INCLUDE_DIR,
  '/usr/include/onnxruntime',
  '/usr/local/include/onnxruntime',
  path.join(debianPrefix, 'usr', 'include', 'onnxruntime'),
].filter(Boolean);

function findOrtHeaders() {
  return ortHeaderCandidates().find((dir) => existsSync(path.join(dir, 'onnxruntime_c_api.h')));
}

function fetchDebian(packages) {
  const r = spawnSync('bash', [fetchScript, debianPrefix, ...packages], { stdio: 'inherit' });
  return r.status === 0;
}

function ensureOrtHeaders() {
  if (process.env.ONNXRUNTIME_INCLUDE_DIR && !existsSync(path.join(process.env.ONNXRUNTIME_INCLUDE_DIR, 'onnxruntime_c_api.h'))) {
    fail(`ONNXRUNTIME_INCLUDE_DIR=${process.env.ONNXRUNTIME_INCLUDE_DIR} holds no onnxruntime_c_api.h.`);
  }
  let dir = findOrtHeaders();
  if (!dir) {
    console.log('fa-onnx: ONNX Runtime headers not found; fetching Debian\'s libonnxruntime-dev into .deps/debian');
    if (!fetchDebian(['libonnxruntime-dev']) || !(dir = findOrtHeaders())) {
      fail('could not fetch ONNX Runtime\'s C API headers (Debian package libonnxruntime-dev). ' +
        'Set ONNXRUNTIME_INCLUDE_DIR to a folder holding onnxruntime_c_api.h (API version 23 or later, ' +
        'e.g. include/ from an onnxruntime release archive) and run `npm run build:native` again.');
    }
  }
  console.log(`fa-onnx: ONNX Runtime headers: ${dir}`);
  return dir;
}

function ensureTestData() {
  if (process.env.FA_ONNX_SKIP_TESTDATA === '1') return;
  if (existsSync(path.join(debianPrefix, 'usr', 'share', 'libonnx-testdata', 'data'))) return;
  console.log('fa-onnx: fetching ONNX conformance data (libonnx-testdata) into .deps/debian for the tests');
  if (!fetchDebian(['libonnx-testdata'])) {
    console.warn('fa-onnx: warning: could not fetch libonnx-testdata; the conformance tests will not find their data. ' +
      'The library itself is not affected.');
  }
}

function cmakeJsBin() {
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    fail('the npm package cmake-js is missing; run `npm install` in the project folder first.');
  }
}

// A value cached by an earlier configure of build/ (cmake-js `build` does not configure again).
function cachedValue(name) {
  const cache = path.join(root, 'build', 'CMakeCache.txt');
  if (!existsSync(cache)) return undefined;
  const line = readFileSync(cache, 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  return line === undefined ? undefined : line.slice(line.indexOf('=') + 1);
}

function build(ortInclude) {
  const jobs = process.env.FA_ONNX_BUILD_JOBS || '2';
  const options = [`--CDONNXRUNTIME_INCLUDE_DIR=${ortInclude}`];
  if (process.env.FA_ONNX_CUDA) options.push(`--CDFA_ONNX_CUDA=${process.env.FA_ONNX_CUDA}`);
  // cmake-js reads node's headers from the node-api-headers package (package.json's binary.napi_versions
  // marks the addon as Node-API), so building needs nothing from outside the npm registry.
  const cmakeJs = (command) =>
    spawnSync(process.execPath, [cmakeJsBin(), command, '--directory', root, '--parallel', jobs, ...options], { stdio: 'inherit', cwd: root });
  // Configure again when an option differs from what build/ was configured with; otherwise only build,
  // so a second `npm install` costs seconds.
  const cachedCuda = cachedValue('FA_ONNX_CUDA');
  const cachedInclude = cachedValue('ONNXRUNTIME_INCLUDE_DIR');
  const stale = cachedInclude !== undefined && (cachedInclude !== ortInclude ||
    (process.env.FA_ONNX_CUDA !== undefined && cachedCuda !== undefined && !sameBool(cachedCuda, process.env.FA_ONNX_CUDA)));
  let r = stale ? cmakeJs('configure') : { status: 0 };
  if (r.status === 0) r = cmakeJs('build');
  if (r.status !== 0) {
    fail('cmake-js build failed (see the CMake output above). A stale build/ folder can be removed and the ' +
      'build run again with `npm run build:native`.');
  }
  const lib = path.join(root, 'build', 'Release', 'libfa_onnx_ops.so');
  if (!existsSync(lib)) fail(`the build finished but ${lib} is missing.`);
  console.log(`fa-onnx: built ${lib}`);
}

function sameBool(a, b) {
  const on = (v) => /^(1|on|yes|true|y)$/i.test(String(v).trim());
  return on(a) === on(b);
}

checkTools();
const ortInclude = ensureOrtHeaders();
ensureTestData();
build(ortInclude);
