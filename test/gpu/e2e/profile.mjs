// Where a model's time goes on ONNX Runtime's CUDA provider, per op type: ONNX Runtime's own profiler
// (enableProfiling), 5 profiled runs after 3 warm-ups. A node's duration is host time in its Compute
// (CUDA kernels run asynchronously), so an op that blocks the host (a synchronisation, a host copy)
// stands out here even when its kernels are fast. Also the host wall clock of each run.
// usage: node profile.mjs OUT_PREFIX MODEL.onnx [seq]   (GPU machine; see run.sh)
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createSession, Tensor } from './dist/esm/index.js';

const [prefix, file, seqArg] = process.argv.slice(2);
const seq = Number(seqArg ?? 2048);
const RUNS = 5;
const ids = new Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt((i * 7919 + 13) % 1000)), [1, seq]);
const mask = new Tensor('int64', new BigInt64Array(seq).fill(1n), [1, seq]);

const session = await createSession(file, { executionProviders: ['cuda'], enableProfiling: true, profileFilePrefix: prefix });
const feeds = { input_ids: ids };
if (session.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
for (let i = 0; i < 3; i++) await session.run(feeds);
const wall = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
session.endProfiling();
await session.release();

// The profile file: the newest <prefix>_*.json (endProfiling returns nothing through onnxruntime-common).
const dir = dirname(prefix);
const path = join(dir, readdirSync(dir).filter((f) => f.startsWith(basename(prefix)) && f.endsWith('.json')).sort().at(-1));
const events = JSON.parse(readFileSync(path, 'utf8'));
const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
const timed = runs.slice(-RUNS);
const from = timed[0]?.ts ?? 0;
const perOp = new Map();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
  const op = e.args?.op_name ?? '?';
  const a = perOp.get(op) ?? { us: 0, n: 0 };
  a.us += e.dur;
  a.n += 1;
  perOp.set(op, a);
}
const total = [...perOp.values()].reduce((s, a) => s + a.us, 0);
console.log(`${basename(file)}: wall ms per run ${wall.map((x) => x.toFixed(2)).join(' ')}; model_run ${timed.map((r) => (r.dur / 1000).toFixed(2)).join(' ')} ms`);
console.log(`  host time in Compute per run, by op (sum ${(total / 1000 / RUNS).toFixed(2)} ms):`);
for (const [op, a] of [...perOp].sort((x, y) => y[1].us - x[1].us).slice(0, 12)) {
  console.log(`    ${op.padEnd(28)} ${(a.us / 1000 / RUNS).toFixed(3).padStart(8)} ms  (${a.n / RUNS} nodes)`);
}
