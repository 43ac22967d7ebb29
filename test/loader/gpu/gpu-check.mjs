// GPU-machine check of the loader: createSession with executionProviders ['cuda'] on the CUDA-enabled
// runtime named by FA_ONNX_ORT_LIBRARY, against CPU sessions and onnxruntime-node's own session.
import { createRequire } from 'node:module';
import { createSession, runtimeInfo, Tensor } from './dist/esm/index.js';

const require = createRequire(import.meta.url);
const ortNode = require('onnxruntime-node');
const info = runtimeInfo();
console.log('runtime', JSON.stringify(info));

const maxAbs = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const randn = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

// bert: cuda vs cpu vs onnxruntime-node cuda
const ids = new Tensor('int64', BigInt64Array.from({ length: 2 * 32 }, (_, i) => BigInt(5 + (i * 7) % 90)), [2, 32]);
const mask = new Tensor('int64', new BigInt64Array(64).fill(1n), [2, 32]);
const cpu = await createSession('bert.ts17_eager.onnx');
const gpu = await createSession('bert.ts17_eager.onnx', { executionProviders: [{ name: 'cuda', deviceId: 0 }] });
const theirs = await ortNode.InferenceSession.create('bert.ts17_eager.onnx', { executionProviders: ['cuda'] });
const feeds = { input_ids: ids, attention_mask: mask };
const [a, b, c] = await Promise.all([cpu.run(feeds), gpu.run(feeds), theirs.run(feeds)]);
const out = cpu.outputNames[0];
console.log('bert cuda vs cpu max|diff|', maxAbs(b[out].data, a[out].data), 'cuda(ours) vs cuda(onnxruntime-node) max|diff|', maxAbs(b[out].data, c[out].data));

// FlashAttention (CPU kernel inside a CUDA session unless the library has CUDA kernels) fp32 and fp16
for (const file of ['fa32.onnx', 'fa16.onnx']) {
  const q = new Tensor('float32', randn(2 * 40 * 8 * 64), [2, 40, 8, 64]);
  const k = new Tensor('float32', randn(2 * 50 * 2 * 64), [2, 50, 2, 64]);
  const v = new Tensor('float32', randn(2 * 50 * 2 * 64), [2, 50, 2, 64]);
  const s1 = await createSession(file);
  const s2 = await createSession(file, { executionProviders: ['cuda'] });
  const o = new Tensor('float32', new Float32Array(2 * 40 * 8 * 64).fill(NaN), [2, 40, 8, 64]);
  const r1 = await s1.run({ q, k, v });
  await s2.run({ q, k, v }, { o });
  console.log(file, 'cuda vs cpu max|diff|', maxAbs(o.data, r1.o.data), 'NaN left:', o.data.some(Number.isNaN));
  await s1.release(); await s2.release();
}
try {
  await createSession('fa32.onnx', { executionProviders: [{ name: 'cuda', deviceId: 7 }] });
  console.log('deviceId 7: no error?!');
} catch (e) {
  console.log('deviceId 7 error:', e.message.slice(0, 300));
}
await Promise.all([cpu.release(), gpu.release(), theirs.release()]);
console.log('done');
