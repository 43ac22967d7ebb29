#!/usr/bin/env node
// Prepares .device-stage/fa for the GPU-machine check of the loader (see README.md here): the ESM
// build of what src/index.ts reaches, the addon and ops library from build/Release, the models the
// check runs, and the check scripts. Run from the repo root after `npm run build:native`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const stage = path.join(root, '.device-stage', 'fa');
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(path.join(stage, 'build', 'Release'), { recursive: true });

const tsconfig = path.join(stage, 'tsconfig.json');
fs.writeFileSync(tsconfig, JSON.stringify({
  extends: path.join(root, 'tsconfig.json'),
  compilerOptions: { rootDir: path.join(root, 'src'), outDir: path.join(stage, 'dist', 'esm'), sourceMap: false, typeRoots: [path.join(root, 'node_modules', '@types')] },
  files: [path.join(root, 'src', 'index.ts')],
  include: [],
}));
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { stdio: 'inherit' });
for (const f of ['fa_onnx_addon.node', 'libfa_onnx_ops.so']) fs.copyFileSync(path.join(root, 'build', 'Release', f), path.join(stage, 'build', 'Release', f));
fs.copyFileSync(path.join(root, 'package.json'), path.join(stage, 'package.json'));
fs.copyFileSync(path.join(root, 'models', 'corpus', 'bert.ts17_eager.onnx'), path.join(stage, 'bert.ts17_eager.onnx'));
for (const f of ['gpu-check.mjs', 'py-check.py', 'run.sh']) fs.copyFileSync(path.join(here, f), path.join(stage, f));

// fa_onnx.FlashAttention, causal, GQA 8/2, BSHD float32 in and out; fp16 through Casts.
const info = (name, dims) => ({
  name,
  type: { value: { case: 'tensorType', value: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue', value: BigInt(d) } } : { value: { case: 'dimParam', value: d } })) } } } },
});
const cast = (input, output, to) => ({ opType: 'Cast', input: [input], output: [output], attribute: [{ name: 'to', type: 2, i: BigInt(to) }] });
const attention = (inputs, output) => ({ opType: 'FlashAttention', domain: 'fa_onnx', input: inputs, output: [output], attribute: [{ name: 'causal', type: 2, i: 1n }] });
const write = (file, nodes) => fs.writeFileSync(path.join(stage, file), toBinary(ModelProtoSchema, create(ModelProtoSchema, {
  irVersion: 10n,
  opsetImport: [{ domain: '', version: 21n }, { domain: 'fa_onnx', version: 1n }],
  graph: { name: 'g', node: nodes, input: [info('q', ['b', 's', 8, 64]), info('k', ['b', 't', 2, 64]), info('v', ['b', 't', 2, 64])], output: [info('o', ['b', 's', 8, 64])] },
})));
write('fa32.onnx', [attention(['q', 'k', 'v'], 'o')]);
write('fa16.onnx', [cast('q', 'q16', 10), cast('k', 'k16', 10), cast('v', 'v16', 10), attention(['q16', 'k16', 'v16'], 'o16'), cast('o16', 'o', 1)]);
console.log(`staged ${stage}`);
