// Times fa_onnx.FlashAttention inside ONNX Runtime's CUDA provider, isolated from host transfers:
// query/key/value are generated on the device (RandomNormal), 12 attention nodes are chained
// (each output is the next query) and only a scalar comes back. Variants: no mask, causal, a
// [1, 1, 1, S] key-padding bool mask, a [1, 1, S, S] bool mask, a [1, 1, S, S] float16 bias, the plain
// MatMul/Softmax/MatMul graph, ONNX Runtime's com.microsoft.MultiHeadAttention, and a chain of Add nodes
// (the cost of a trivial node; at a short seq every variant's figure is mostly host and launch cost).
// Prints ms per attention node and TFLOP/s. usage: node op-bench.mjs [seq] [heads] [headDim]
// (OP_BENCH_VARIANTS: a comma-separated subset of the variants)
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { createSession } from './dist/esm/index.js';

const S = Number(process.argv[2] ?? 2048);
const H = Number(process.argv[3] ?? 12);
const D = Number(process.argv[4] ?? 64);
const LAYERS = 12;
const F16 = 10;
const BOOL = 9;

const dim = (d) => ({ value: { case: 'dimValue', value: BigInt(d) } });
const info = (name, type, dims) => ({ name, type: { value: { case: 'tensorType', value: { elemType: type, shape: { dim: dims.map(dim) } } } } });
const ints = (name, v) => ({ name, type: 7, ints: v.map(BigInt) });
const int = (name, v) => ({ name, type: 2, i: BigInt(v) });
const flt = (name, v) => ({ name, type: 1, f: v });
const str = (name, v) => ({ name, type: 3, s: new TextEncoder().encode(v) });
// float32 noise cast to float16 (RandomNormal has no float16 kernel on every provider).
const randomNodes = (out, shape, seed) => [
  { opType: 'RandomNormal', output: [`${out}32`], attribute: [ints('shape', shape), int('dtype', 1), flt('seed', seed)] },
  { opType: 'Cast', input: [`${out}32`], output: [out], attribute: [int('to', F16)] },
];

function model(variant) {
  const nodes = [...randomNodes('k', [1, S, H * D], 1), ...randomNodes('v', [1, S, H * D], 2), ...randomNodes('q0', [1, S, H * D], 3)];
  const extra = [];
  if (variant === 'mask') {
    nodes.push(...randomNodes('r', [1, 1, S, S], 4), { opType: 'Constant', output: ['minus3'], attribute: [{ name: 'value', type: 4, t: { dims: [], dataType: 1, floatData: [-3] } }] });
    nodes.push({ opType: 'Greater', input: ['r32', 'minus3'], output: ['m'] });
  }
  if (variant === 'bias') nodes.push(...randomNodes('b', [1, 1, S, S], 5));
  if (variant === 'key padding') {  // HuggingFace's attention_mask as the op gets it: [B, 1, 1, Sk], the last eighth padded
    nodes.push({ opType: 'Constant', output: ['m'], attribute: [{ name: 'value', type: 4, t: { dims: [1n, 1n, 1n, BigInt(S)], dataType: BOOL, int32Data: Array.from({ length: S }, (_, j) => (j < S - S / 8 ? 1 : 0)) } }] });
  }
  let q = 'q0';
  for (let l = 0; l < LAYERS; l++) {
    const o = `o${l}`;
    if (variant === 'unfused') {
      const sh = { opType: 'Constant', output: [`sh${l}`], attribute: [{ name: 'value', type: 4, t: { dims: [4n], dataType: 7, int64Data: [1n, BigInt(S), BigInt(H), BigInt(D)] } }] };
      const back = { opType: 'Constant', output: [`back${l}`], attribute: [{ name: 'value', type: 4, t: { dims: [3n], dataType: 7, int64Data: [1n, BigInt(S), BigInt(H * D)] } }] };
      const scale = { opType: 'Constant', output: [`sc${l}`], attribute: [{ name: 'value', type: 4, t: { dims: [], dataType: F16, int32Data: [0x3000] } }] }; // 0.125
      nodes.push(sh, back, scale,
        { opType: 'Reshape', input: [q, `sh${l}`], output: [`q4_${l}`] }, { opType: 'Transpose', input: [`q4_${l}`], output: [`qt${l}`], attribute: [ints('perm', [0, 2, 1, 3])] },
        { opType: 'Reshape', input: ['k', `sh${l}`], output: [`k4_${l}`] }, { opType: 'Transpose', input: [`k4_${l}`], output: [`kt${l}`], attribute: [ints('perm', [0, 2, 3, 1])] },
        { opType: 'Reshape', input: ['v', `sh${l}`], output: [`v4_${l}`] }, { opType: 'Transpose', input: [`v4_${l}`], output: [`vt${l}`], attribute: [ints('perm', [0, 2, 1, 3])] },
        { opType: 'MatMul', input: [`qt${l}`, `kt${l}`], output: [`s${l}`] }, { opType: 'Mul', input: [`s${l}`, `sc${l}`], output: [`ss${l}`] },
        { opType: 'Softmax', input: [`ss${l}`], output: [`p${l}`], attribute: [int('axis', -1)] }, { opType: 'MatMul', input: [`p${l}`, `vt${l}`], output: [`ov${l}`] },
        { opType: 'Transpose', input: [`ov${l}`], output: [`ot${l}`], attribute: [ints('perm', [0, 2, 1, 3])] }, { opType: 'Reshape', input: [`ot${l}`, `back${l}`], output: [o] });
    } else if (variant === 'ORT MHA') {  // ONNX Runtime's own fused attention on the same chain
      nodes.push({ opType: 'MultiHeadAttention', domain: 'com.microsoft', input: [q, 'k', 'v'], output: [o], attribute: [int('num_heads', H)] });
    } else if (variant === 'Add') {  // a trivial CUDA node: the host cost of any node in the chain
      nodes.push({ opType: 'Add', input: [q, 'k'], output: [o] });
    } else {
      const inputs = [q, 'k', 'v', variant === 'bias' ? 'b' : '', variant === 'mask' || variant === 'key padding' ? 'm' : ''];
      const attrs = [int('num_heads', H), int('kv_num_heads', H)];
      if (variant === 'causal') attrs.push(int('causal', 1));
      if (variant === 'mask') attrs.push(str('masked_rows', 'uniform'));
      nodes.push({ opType: 'FlashAttention', domain: 'fa_onnx', input: inputs, output: [o], attribute: attrs });
    }
    q = o;
  }
  nodes.push({ opType: 'ReduceSum', input: [q], output: ['sum'], attribute: [int('keepdims', 0)] });
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, {
    irVersion: 10n,
    opsetImport: [{ domain: '', version: 17n }, { domain: 'fa_onnx', version: 1n }, { domain: 'com.microsoft', version: 1n }],
    graph: { name: variant, node: nodes, input: [], output: [info('sum', F16, [])], ...extra },
  }));
}

const flops = 4 * H * S * S * D;
console.log(`B 1, S ${S}, H ${H}, D ${D}, fp16, ${LAYERS} chained nodes; ms per node (median of 20 runs)`);
for (const variant of (process.env.OP_BENCH_VARIANTS ?? 'plain,causal,key padding,mask,bias,unfused,ORT MHA,Add').split(',')) {
  try {
    const session = await createSession(model(variant), { executionProviders: [process.env.OP_BENCH_EP ?? 'cuda'] });
    const feeds = {};
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const perNode = times[10] / LAYERS;
    const f = variant === 'causal' ? flops / 2 : flops;
    console.log(`  ${variant.padEnd(8)} ${perNode.toFixed(3)} ms/node  ${(f / perNode / 1e9).toFixed(0)} TFLOP/s (incl. RandomNormal and launch overheads)`);
    await session.release();
  } catch (e) {
    console.log(`  ${variant.padEnd(8)} failed: ${String(e.message ?? e).slice(0, 300)}`);
  }
}
