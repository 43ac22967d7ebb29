// Bad input to the fa_onnx ops on CPU: each is an ONNX Runtime error whose message names the op and the
// problem, and the process (and, for run-time errors, the same session) keeps working afterwards.
import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

import { createSession } from '../../src/index.js';
import { type AttrValue, type ElemName, type IoSpec, makeTensor, singleNodeModel } from './harness.js';

type Feed = { type: ElemName; dims: number[]; values?: number[] };

function tensor(f: Feed): Tensor {
  const n = f.dims.reduce((a, b) => a * b, 1);
  return makeTensor(f.type, f.values ?? Array.from({ length: n }, (_, i) => ((i * 7919) % 13) / 13 - 0.5), f.dims);
}

/** A shapeless single-node model whose inputs are `names` (null: absent). */
function modelFor(op: string, names: Array<string | null>, types: ElemName[], attrs: Record<string, AttrValue>, outputs: string[], outType: ElemName = 'float32') {
  const inputs: Array<IoSpec | null> = names.map((n, i) => (n ? { name: n, type: types[i]!, dims: [] } : null));
  const outs = outputs.map((name) => ({ name, type: name === 'softmax_lse' ? ('float32' as const) : outType, dims: [] }));
  return singleNodeModel(op, inputs, outs, attrs, { inputShapes: false });
}

/** Runs `bad` (must reject naming `message`), then `good` in the same session (must succeed). */
async function expectRunError(model: Uint8Array, bad: Record<string, Feed>, good: Record<string, Feed>, message: RegExp) {
  const session = await createSession(model);
  try {
    const feeds = (fs: Record<string, Feed>) => Object.fromEntries(Object.entries(fs).map(([k, f]) => [k, tensor(f)]));
    await expect(session.run(feeds(bad))).rejects.toThrow(message);
    const out = await session.run(feeds(good));
    for (const t of Object.values(out)) {
      if (t.type === 'float32') expect(Array.from(t.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
  } finally {
    await session.release();
  }
}

const f32 = (...dims: number[]): Feed => ({ type: 'float32', dims });
const i32 = (values: number[], dims = [values.length]): Feed => ({ type: 'int32', dims, values });

describe('FlashAttention bad input', () => {
  const names = ['query', 'key', 'value', 'bias', 'attn_mask', 'key_lengths', 'alibi_slopes'];
  const types: ElemName[] = ['float32', 'float32', 'float32', 'float32', 'bool', 'int32', 'float32'];
  const dense = (attrs: Record<string, AttrValue> = {}, used = 3) => modelFor('FlashAttention', names.slice(0, used), types, attrs, ['output']);
  const good = { query: f32(1, 4, 2, 16), key: f32(1, 5, 2, 16), value: f32(1, 5, 2, 16) };

  it('wrong rank', async () => {
    await expectRunError(dense(), { ...good, query: f32(4, 32) }, good, /FlashAttention: query must have rank 3 .* or 4 .*got rank 2/);
  });
  it('mismatched head dims', async () => {
    await expectRunError(dense(), { ...good, key: f32(1, 5, 2, 8), value: f32(1, 5, 2, 8) }, good, /FlashAttention: query head dim 16 does not match key head dim 8/);
  });
  it('Hq not a multiple of Hk', async () => {
    await expectRunError(dense(), { query: f32(1, 4, 3, 16), key: f32(1, 5, 2, 16), value: f32(1, 5, 2, 16) }, good, /FlashAttention: query heads \(3\) must be a multiple of key\/value heads \(2\)/);
  });
  it('unsupported head dim', async () => {
    await expectRunError(dense(), { query: f32(1, 1, 1, 600), key: f32(1, 1, 1, 600), value: f32(1, 1, 1, 600) }, good, /FlashAttention: head dim 600 is unsupported on the CPU provider/);
  });
  it('inconsistent key and value lengths', async () => {
    await expectRunError(dense(), { ...good, value: f32(1, 6, 2, 16) }, good, /FlashAttention: key length 5 and value length 6 differ/);
  });
  it('inconsistent batch', async () => {
    await expectRunError(dense(), { ...good, query: f32(2, 4, 2, 16) }, good, /FlashAttention: inconsistent batch sizes: query 2, key 1, value 1/);
  });
  it('rank-3 input without num_heads', async () => {
    await expectRunError(dense(), { ...good, query: f32(1, 4, 32) }, good, /FlashAttention: query has rank 3 .* needs the num_heads attribute/);
  });
  it('num_heads not dividing the packed dim', async () => {
    await expectRunError(dense({ num_heads: 4, kv_num_heads: 2 }), { query: f32(1, 4, 30), key: f32(1, 5, 32), value: f32(1, 5, 32) }, { query: f32(1, 4, 64), key: f32(1, 5, 32), value: f32(1, 5, 32) }, /FlashAttention: num_heads=4 does not divide the last dim of query \[1, 4, 30\]/);
  });
  it('bias not broadcastable', async () => {
    await expectRunError(dense({}, 4), { ...good, bias: f32(3) }, { ...good, bias: f32(5) }, /FlashAttention: bias of shape \[3\] is not broadcastable to \[B, Hq, Sq, Sk\] = \[1, 2, 4, 5\]/);
  });
  it('negative key length', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value', null, null, 'key_lengths'], types, {}, ['output']);
    await expectRunError(m, { ...good, key_lengths: i32([-1]) }, { ...good, key_lengths: i32([3]) }, /FlashAttention: key_lengths\[0\] = -1 is outside \[0, 5\]/);
  });
  it('oversized key length', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value', null, null, 'key_lengths'], types, {}, ['output']);
    await expectRunError(m, { ...good, key_lengths: i32([6]) }, { ...good, key_lengths: i32([5]) }, /FlashAttention: key_lengths\[0\] = 6 is outside \[0, 5\]/);
  });
  it('key_lengths of the wrong size', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value', null, null, 'key_lengths'], types, {}, ['output']);
    await expectRunError(m, { ...good, key_lengths: i32([1, 2]) }, { ...good, key_lengths: i32([5]) }, /FlashAttention: key_lengths must have shape \[1\], got \[2\]/);
  });
  it('alibi_slopes of the wrong shape', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value', null, null, null, 'alibi_slopes'], types, {}, ['output']);
    await expectRunError(m, { ...good, alibi_slopes: f32(3) }, { ...good, alibi_slopes: f32(2) }, /FlashAttention: alibi_slopes must have shape \[Hq\]/);
  });
});

describe('attribute errors fail session creation, naming the attribute', () => {
  const cases: Array<[Record<string, AttrValue>, RegExp]> = [
    [{ layout: 'BSDH' }, /FlashAttention: unknown layout "BSDH"/],
    [{ mask_alignment: 'center' }, /FlashAttention: unknown mask_alignment "center"/],
    [{ masked_rows: 'mean' }, /FlashAttention: unknown masked_rows "mean"/],
    [{ softcap: { float: -1 } }, /FlashAttention: attribute softcap must be 0 \(none\) or positive/],
    [{ window_left: -2 }, /FlashAttention: attribute window_left must be -1 or more, got -2/],
    [{ causal: 1, window_right: 3 }, /FlashAttention: causal=1 conflicts with window_right=3/],
  ];
  for (const [attrs, message] of cases) {
    it(JSON.stringify(attrs), async () => {
      const m = modelFor('FlashAttention', ['query', 'key', 'value'], ['float32', 'float32', 'float32'], attrs, ['output']);
      await expect(createSession(m)).rejects.toThrow(message);
      // The process carries on: a good session still runs.
      const ok = await createSession(modelFor('FlashAttention', ['query', 'key', 'value'], ['float32', 'float32', 'float32'], {}, ['output']));
      const out = await ok.run({ query: tensor(f32(1, 2, 1, 8)), key: tensor(f32(1, 3, 1, 8)), value: tensor(f32(1, 3, 1, 8)) });
      expect(out['output']!.dims).toEqual([1, 2, 1, 8]);
      await ok.release();
    });
  }
  it('KV cache: mask_alignment top_left is refused', async () => {
    const m = modelFor('FlashAttentionKVCache', ['query', null, null, 'key_cache', 'value_cache', 'cache_seqlens'], ['float32', 'float32', 'float32', 'float32', 'float32', 'int32'], { mask_alignment: 'top_left' }, ['output', 'key_cache_out', 'value_cache_out']);
    await expect(createSession(m)).rejects.toThrow(/FlashAttentionKVCache: mask_alignment is fixed to "bottom_right"/);
  });
});

describe('unsupported dtypes', () => {
  it('float64 inputs are refused when the session is created', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value'], ['float64', 'float64', 'float64'], {}, ['output'], 'float64');
    await expect(createSession(m)).rejects.toThrow(/Type 'tensor\(double\)' of input parameter \(query\) of operator \(FlashAttention\)/);
  });
  it('int32 query is refused', async () => {
    const m = modelFor('FlashAttention', ['query', 'key', 'value'], ['int32', 'int32', 'int32'], {}, ['output'], 'int32');
    await expect(createSession(m)).rejects.toThrow(/Type 'tensor\(int32\)' of input parameter \(query\) of operator \(FlashAttention\)/);
  });
  it('query and key of different float types', async () => {
    // ONNX Runtime's own check: no registration takes this combination of types.
    const m = modelFor('FlashAttention', ['query', 'key', 'value'], ['float32', 'float16', 'float16'], {}, ['output']);
    await expect(createSession(m)).rejects.toThrow(/no kernel def matches node inputs for Op: FlashAttention/);
  });
});

describe('FlashAttentionVarlen bad offsets', () => {
  const names = ['query', 'key', 'value', 'cu_seqlens_q', 'cu_seqlens_k'];
  const types: ElemName[] = ['float32', 'float32', 'float32', 'int32', 'int32'];
  const qkv = { query: f32(6, 2, 8), key: f32(7, 2, 8), value: f32(7, 2, 8) };
  const good = { ...qkv, cu_seqlens_q: i32([0, 2, 6]), cu_seqlens_k: i32([0, 3, 7]) };
  const m = (attrs: Record<string, AttrValue> = {}) => modelFor('FlashAttentionVarlen', names, types, attrs, ['output']);
  it('offsets not starting at 0', async () => {
    await expectRunError(m(), { ...good, cu_seqlens_q: i32([1, 2, 6]) }, good, /FlashAttentionVarlen: cu_seqlens_q\[0\] = 1 must be 0/);
  });
  it('decreasing offsets', async () => {
    await expectRunError(m(), { ...good, cu_seqlens_k: i32([0, 5, 4]) }, good, /FlashAttentionVarlen: cu_seqlens_k decreases at entry 2/);
  });
  it('offsets not ending at the token count', async () => {
    await expectRunError(m(), { ...good, cu_seqlens_q: i32([0, 2, 5]) }, good, /FlashAttentionVarlen: cu_seqlens_q\[2\] = 5 must equal the token count 6/);
  });
  it('offsets of different sizes', async () => {
    await expectRunError(m(), { ...good, cu_seqlens_k: i32([0, 7]) }, good, /FlashAttentionVarlen: cu_seqlens_k must have shape \[B\+1\] = \[3\]/);
  });
  it('max_seqlen_q smaller than a sequence', async () => {
    await expectRunError(m({ max_seqlen_q: 3 }), good, { ...good, cu_seqlens_q: i32([0, 3, 6]) }, /FlashAttentionVarlen: max_seqlen_q=3 is smaller than a sequence of 4 tokens/);
  });
  it('wrong rank', async () => {
    await expectRunError(m(), { ...good, query: f32(1, 6, 2, 8) }, good, /FlashAttentionVarlen: query must have rank 2 .* or 3 .*got rank 4/);
  });
});

describe('FlashAttentionKVCache bad lengths', () => {
  const names = ['query', 'key_new', 'value_new', 'key_cache', 'value_cache', 'cache_seqlens', 'block_table'];
  const types: ElemName[] = ['float32', 'float32', 'float32', 'float32', 'float32', 'int32', 'int32'];
  const outs = ['output', 'key_cache_out', 'value_cache_out'];
  const base = { query: f32(2, 2, 2, 8), key_new: f32(2, 2, 2, 8), value_new: f32(2, 2, 2, 8), key_cache: f32(2, 10, 2, 8), value_cache: f32(2, 10, 2, 8) };
  const good = { ...base, cache_seqlens: i32([3, 8]) };
  const m = modelFor('FlashAttentionKVCache', names.slice(0, 6), types, {}, outs);
  it('cache_seqlens + new tokens beyond capacity', async () => {
    await expectRunError(m, { ...base, cache_seqlens: i32([3, 9]) }, good, /FlashAttentionKVCache: cache_seqlens\[1\] \+ new tokens = 11 exceeds the cache's capacity 10/);
  });
  it('negative cache_seqlens', async () => {
    await expectRunError(m, { ...base, cache_seqlens: i32([-2, 0]) }, good, /FlashAttentionKVCache: cache_seqlens\[0\] = -2 is negative/);
  });
  it('key_new without value_new', async () => {
    const half = modelFor('FlashAttentionKVCache', ['query', 'key_new', null, 'key_cache', 'value_cache', 'cache_seqlens'], types, {}, outs);
    const session = await createSession(half);
    await expect(session.run({ query: tensor(base.query), key_new: tensor(base.key_new), key_cache: tensor(base.key_cache), value_cache: tensor(base.value_cache), cache_seqlens: tensor(i32([1, 1])) })).rejects.toThrow(/FlashAttentionKVCache: key_new and value_new must be given together/);
    await session.release();
  });
  it('block table entry outside the cache', async () => {
    const paged = modelFor('FlashAttentionKVCache', names, types, {}, outs);
    const pagedBase = { ...base, key_cache: f32(4, 4, 2, 8), value_cache: f32(4, 4, 2, 8), cache_seqlens: i32([1, 5]) };
    await expectRunError(paged, { ...pagedBase, block_table: i32([0, 1, 2, 4], [2, 2]) }, { ...pagedBase, block_table: i32([0, 1, 2, 3], [2, 2]) }, /FlashAttentionKVCache: block_table\[1, 1\] = 4 is outside \[0, 4\)/);
  });
});

describe('FlashAttentionFp8 bad descales', () => {
  it('descales of different forms', async () => {
    const names = ['query', 'key', 'value', 'q_descale', 'k_descale', 'v_descale'];
    const types: ElemName[] = ['float8e4m3fn', 'float8e4m3fn', 'float8e4m3fn', 'float32', 'float32', 'float32'];
    const m = modelFor('FlashAttentionFp8', names, types, {}, ['output'], 'bfloat16');
    const fp8 = (...dims: number[]): Feed => ({ type: 'float8e4m3fn', dims, values: Array(dims.reduce((a, b) => a * b, 1)).fill(0x38) });
    const qkv = { query: fp8(1, 3, 2, 16), key: fp8(1, 4, 1, 16), value: fp8(1, 4, 1, 16) };
    await expectRunError(
      m,
      { ...qkv, q_descale: f32(), k_descale: f32(1, 1), v_descale: f32() },
      { ...qkv, q_descale: f32(1), k_descale: f32(), v_descale: f32() },
      /FlashAttentionFp8: q_descale, k_descale and v_descale must all be scalars or all be \[B, Hk\]/,
    );
  });
});
