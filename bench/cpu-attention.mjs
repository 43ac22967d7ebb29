#!/usr/bin/env node
// CPU attention benchmark: fa_onnx.FlashAttention (our CPU kernel) against ONNX Runtime's own CPU
// `Attention` (opset 23) and the plain MatMul/Softmax/MatMul graph, at batch 1, 12 heads, head dim 64,
// float32, BHSD tensors, S = 512/1024/2048/4096 (query = key length), 2 intra-op threads.
// Each configuration runs in a fresh child process, which reports the median of the timed runs
// (after one warm-up) and its peak resident memory (VmHWM from /proc/self/status), also the peak
// before the first run, so the difference is what running the op added.
//
// Usage: npm run build:ts && node bench/cpu-attention.mjs [--runs N (default 7)] [--sizes 512,1024]
//        [--impls fa,ort,matmul] [--threads 2] [--rounds R (default 1; the median over rounds is kept)]
// Prints a Markdown table for bench/RESULTS.md.
import { create, toBinary } from '@bufbuild/protobuf';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ModelProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const B = 1;
const H = 12;
const D = 64;
const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    sizes: { type: 'string' },
    impls: { type: 'string' },
    threads: { type: 'string' },
    rounds: { type: 'string' },
    child: { type: 'string' },
    size: { type: 'string' },
  },
});
const runs = Number(values.runs ?? 7);
const threads = Number(values.threads ?? 2);

if (values.child) await child(values.child, Number(values.size));
else main();

function tensorType(dims) {
  return { value: { case: 'tensorType', value: { elemType: DT.FLOAT, shape: { dim: dims.map((d) => ({ value: { case: 'dimValue', value: BigInt(d) } })) } } } };
}

function modelFor(impl, S) {
  const dims = [B, H, S, D];
  const io = (name) => ({ name, type: tensorType(dims) });
  let nodes;
  let opsets = [{ domain: '', version: 23n }];
  const initializer = [];
  if (impl === 'fa') {
    nodes = [{ opType: 'FlashAttention', domain: 'fa_onnx', input: ['q', 'k', 'v'], output: ['y'], attribute: [{ name: 'layout', type: 3, s: new TextEncoder().encode('BHSD') }] }];
    opsets.push({ domain: 'fa_onnx', version: 1n });
  } else if (impl === 'ort') {
    nodes = [{ opType: 'Attention', input: ['q', 'k', 'v'], output: ['y'] }];
  } else if (impl === 'matmul') {
    initializer.push({ name: 'scale', dataType: DT.FLOAT, dims: [], floatData: [1 / Math.sqrt(D)] });
    nodes = [
      { opType: 'Transpose', input: ['k'], output: ['kt'], attribute: [{ name: 'perm', type: 7, ints: [0n, 1n, 3n, 2n] }] },
      { opType: 'MatMul', input: ['q', 'kt'], output: ['s0'] },
      { opType: 'Mul', input: ['s0', 'scale'], output: ['s1'] },
      { opType: 'Softmax', input: ['s1'], output: ['p'], attribute: [{ name: 'axis', type: 2, i: -1n }] },
      { opType: 'MatMul', input: ['p', 'v'], output: ['y'] },
    ];
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 10n,
      opsetImport: opsets,
      producerName: 'fa-onnx-bench',
      graph: { name: impl, node: nodes, input: [io('q'), io('k'), io('v')], output: [io('y')], initializer },
    }),
  );
}

function vmHWM() {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line.split(/\s+/)[1]) / 1024; // MiB
}

async function child(impl, S) {
  const { createSession, Tensor } = await import(pathToFileURL(join(root, 'dist', 'esm', 'index.js')).href);
  const session = await createSession(modelFor(impl, S), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const n = B * H * S * D;
  const random = () => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
    return new Tensor('float32', a, [B, H, S, D]);
  };
  const feeds = { q: random(), k: random(), v: random() };
  const before = vmHWM();
  await session.run(feeds); // warm-up
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs; // all threads: about `threads` x the wall time when they scale
  process.stdout.write(JSON.stringify({ impl, S, median, min: times[0], cpuMs, peakMiB: vmHWM(), beforeMiB: before }) + '\n');
  await session.release();
}

function measure(impl, S) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', impl, '--size', String(S), '--runs', String(runs), '--threads', String(threads)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${impl} S=${S} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

function main() {
  const sizes = (values.sizes ?? '512,1024,2048,4096').split(',').map(Number);
  const impls = (values.impls ?? 'fa,ort,matmul').split(',');
  const rounds = Number(values.rounds ?? 1);
  const names = { fa: 'fa_onnx.FlashAttention', ort: 'ORT `Attention` (opset 23)', matmul: 'MatMul/Softmax/MatMul' };
  const rows = [];
  for (const S of sizes) {
    const results = {};
    // Rounds interleave the implementations so a busy machine slows them alike.
    for (let round = 0; round < rounds; round++) {
      for (const impl of impls) (results[impl] ??= []).push(measure(impl, S));
    }
    const pick = (impl) => {
      const rs = results[impl].sort((a, b) => a.median - b.median);
      return rs[Math.floor(rs.length / 2)];
    };
    const cells = impls.map((impl) => {
      const r = pick(impl);
      const gflops = (4 * B * H * S * S * D) / (r.median * 1e6);
      return `${r.median.toFixed(1)} ms (${gflops.toFixed(0)} GFLOP/s; CPU ${r.cpuMs.toFixed(0)} ms), ${r.peakMiB.toFixed(0)} MiB (+${(r.peakMiB - r.beforeMiB).toFixed(0)})`;
    });
    rows.push(`| ${S} | ${cells.join(' | ')} |`);
    console.error(`S=${S} done`);
  }
  console.log(`| S | ${impls.map((i) => names[i]).join(' | ')} |`);
  console.log(`| --- | ${impls.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(row);
  console.log(`\nbatch ${B}, ${H} heads, D ${D}, fp32, ${threads} intra-op threads; median of ${runs} runs after a warm-up, each configuration in a fresh process;`);
  console.log('CPU: process CPU time per run over all threads. Memory: peak resident set of that process (VmHWM), in parentheses what the runs added to the peak before the first run.');
}
