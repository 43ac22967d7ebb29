// Model-level comparison on ONNX Runtime's CUDA provider (GPU machine; see run.sh here):
// the original export, the fa-onnx rewrite and the same model on ONNX Runtime's MultiHeadAttention,
// on the same inputs, through createSession. Prints latency (median of timed runs after warm-up,
// host wall clock around session.run, output copy to the host included) and the error of each
// variant against the original.
// usage: node compare.mjs NAME ORIGINAL.onnx FA.onnx MHA.onnx [seq] [runs]
import { createSession, Tensor } from './dist/esm/index.js';

const [name, original, fa, mha, seqArg, runsArg] = process.argv.slice(2);
const seq = Number(seqArg ?? 2048);
const runs = Number(runsArg ?? 20);

const ids = new Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt((i * 7919 + 13) % 1000)), [1, seq]);
const mask = new Tensor('int64', new BigInt64Array(seq).fill(1n), [1, seq]);

function toFloat(t) {
  if (t.type === 'float32') return t.data;
  if (t.type === 'float16') {
    const out = new Float32Array(t.data.length);
    const view = t.data instanceof Uint16Array ? t.data : new Uint16Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < out.length; i++) {
      const h = view[i];
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
    }
    return out;
  }
  throw new Error(`unexpected output type ${t.type}`);
}

function relL2(a, b) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function measure(file) {
  const session = await createSession(file, { executionProviders: ['cuda'] });
  const feeds = { input_ids: ids };
  if (session.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
  let out;
  for (let i = 0; i < 3; i++) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  const result = toFloat(out[session.outputNames[0]]);
  await session.release();
  return { ms: times[Math.floor(times.length / 2)], spread: [times[0], times[times.length - 1]], out: result };
}

const base = await measure(original);
const rows = [['original', base, null]];
for (const [label, file] of [['fa-onnx', fa], ['ORT MultiHeadAttention', mha]]) {
  try {
    const r = await measure(file);
    rows.push([label, r, relL2(r.out, base.out)]);
  } catch (e) {
    rows.push([label, null, String(e.message ?? e).slice(0, 200)]);
  }
}
console.log(`\n${name}: batch 1, ${seq} tokens, fp16, CUDA provider, median of ${runs} runs`);
for (const [label, r, err] of rows) {
  if (!r) {
    console.log(`  ${label.padEnd(24)} failed: ${err}`);
    continue;
  }
  const nan = r.out.some(Number.isNaN) ? ' NaN!' : '';
  const speedup = (base.ms / r.ms).toFixed(2);
  const errText = err === null ? '' : `  rel L2 vs original ${err.toExponential(2)}`;
  console.log(`  ${label.padEnd(24)} ${r.ms.toFixed(2).padStart(8)} ms  (min ${r.spread[0].toFixed(2)}, max ${r.spread[1].toFixed(2)})  ${speedup}x${errText}${nan}`);
}
