// fa_onnx.FlashAttentionVarlen and fa_onnx.FlashAttentionKVCache on the CPU provider against the float64
// reference, outputs (and cache outputs) NaN-poisoned first.
import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

import { bound, compare, randomValues } from './dense-case.js';
import { type AttrValue, type IoSpec, makeTensor, poisoned, readFloats, runOnce, singleNodeModel } from './harness.js';
import { type FloatType, type MaskedRows, Rng, attendSequence, freshSeed, roundTo } from './reference.js';

interface VarlenCase {
  dtype: FloatType;
  seqQ: number[];
  seqK: number[];
  Hq: number;
  Hk: number;
  D: number;
  Dv?: number;
  rank2?: boolean;
  causal?: boolean;
  bottomRight?: boolean;
  windowLeft?: number;
  alibi?: boolean;
  maskedRows?: MaskedRows;
  maxSeqlen?: boolean;
}

async function runVarlen(c: VarlenCase, seed = freshSeed()) {
  const rng = new Rng(seed);
  const { Hq, Hk, D } = c;
  const Dv = c.Dv ?? D;
  const round = (x: number) => roundTo(c.dtype, x);
  const cuQ = [0];
  const cuK = [0];
  c.seqQ.forEach((n) => cuQ.push(cuQ.at(-1)! + n));
  c.seqK.forEach((n) => cuK.push(cuK.at(-1)! + n));
  const Tq = cuQ.at(-1)!;
  const Tk = cuK.at(-1)!;
  const B = c.seqQ.length;
  // Token-major [T, H, D], the packed form itself.
  const q = randomValues(rng, Tq * Hq * D, round);
  const k = randomValues(rng, Tk * Hk * D, round);
  const v = randomValues(rng, Tk * Hk * Dv, round);
  const shape = (T: number, H: number, d: number) => (c.rank2 ? [T, H * d] : [T, H, d]);
  const slopes = Float64Array.from({ length: Hq }, () => Math.fround(rng.uniform() * 0.3));
  const feeds: Record<string, Tensor> = {
    query: makeTensor(c.dtype, q, shape(Tq, Hq, D)),
    key: makeTensor(c.dtype, k, shape(Tk, Hk, D)),
    value: makeTensor(c.dtype, v, shape(Tk, Hk, Dv)),
    cu_seqlens_q: makeTensor('int32', cuQ, [B + 1]),
    cu_seqlens_k: makeTensor('int32', cuK, [B + 1]),
  };
  const inputs: IoSpec[] = [
    { name: 'query', type: c.dtype, dims: shape(Tq, Hq, D) },
    { name: 'key', type: c.dtype, dims: shape(Tk, Hk, D) },
    { name: 'value', type: c.dtype, dims: shape(Tk, Hk, Dv) },
    { name: 'cu_seqlens_q', type: 'int32', dims: [B + 1] },
    { name: 'cu_seqlens_k', type: 'int32', dims: [B + 1] },
  ];
  if (c.alibi) {
    feeds['alibi_slopes'] = makeTensor('float32', slopes, [Hq]);
    inputs.push({ name: 'alibi_slopes', type: 'float32', dims: [Hq] });
  }
  const attrs: Record<string, AttrValue> = {};
  if (c.rank2) Object.assign(attrs, { num_heads: Hq, kv_num_heads: Hk });
  if (c.causal) attrs['causal'] = 1;
  if (c.bottomRight) attrs['mask_alignment'] = 'bottom_right';
  if (c.windowLeft !== undefined) attrs['window_left'] = c.windowLeft;
  if (c.maskedRows) attrs['masked_rows'] = c.maskedRows;
  if (c.maxSeqlen) Object.assign(attrs, { max_seqlen_q: Math.max(...c.seqQ), max_seqlen_k: Math.max(...c.seqK) });
  const oShape = shape(Tq, Hq, Dv);
  const fetches = { output: poisoned(c.dtype, oShape), softmax_lse: poisoned('float32', [Hq, Tq]) };
  const model = singleNodeModel('FlashAttentionVarlen', inputs, [
    { name: 'output', type: c.dtype, dims: oShape },
    { name: 'softmax_lse', type: 'float32', dims: [Hq, Tq] },
  ], attrs);
  const out = await runOnce(model, feeds, fetches);
  const got = readFloats(c.dtype, out['output']!);
  const gotLse = readFloats('float32', out['softmax_lse']!);
  const want = new Float64Array(Tq * Hq * Dv);
  const wantLse = new Float64Array(Hq * Tq);
  for (let b = 0; b < B; b++) {
    const q0 = cuQ[b]!;
    const k0 = cuK[b]!;
    const sq = c.seqQ[b]!;
    const r = attendSequence({
      Hq, Hk, D, Dv, sq, sk: c.seqK[b]!,
      q: (h, i, d) => q[((q0 + i) * Hq + h) * D + d]!,
      k: (hk, j, d) => k[((k0 + j) * Hk + hk) * D + d]!,
      v: (hk, j, e) => v[((k0 + j) * Hk + hk) * Dv + e]!,
      causal: c.causal, bottomRight: c.bottomRight, windowLeft: c.windowLeft, maskedRows: c.maskedRows,
      alibiSlope: c.alibi ? (h) => slopes[h]! : undefined,
    });
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < sq; i++) {
        wantLse[h * Tq + q0 + i] = r.lse[h * sq + i]!;
        for (let e = 0; e < Dv; e++) want[((q0 + i) * Hq + h) * Dv + e] = r.out[(h * sq + i) * Dv + e]!;
      }
  }
  return compare(seed, got, want, gotLse, wantLse);
}

describe('FlashAttentionVarlen on CPU', () => {
  const cases: Array<[string, VarlenCase]> = [
    ['fp32 [T, H, D], 4 sequences incl. an empty query, GQA 4', { dtype: 'float32', seqQ: [5, 64, 0, 127], seqK: [7, 100, 3, 127], Hq: 8, Hk: 2, D: 64 }],
    ['fp32 [T, H*D], causal bottom-right, ALiBi, max_seqlen given', { dtype: 'float32', seqQ: [1, 7, 70], seqK: [1000, 7, 90], Hq: 4, Hk: 4, D: 80, rank2: true, causal: true, bottomRight: true, alibi: true, maxSeqlen: true }],
    ['fp16 causal top-left with Sk < Sq (uniform masked rows), Dv != D', { dtype: 'float16', seqQ: [64, 9], seqK: [30, 9], Hq: 8, Hk: 1, D: 96, Dv: 32, causal: true, maskedRows: 'uniform' }],
    ['bf16 sliding window', { dtype: 'bfloat16', seqQ: [127, 33], seqK: [127, 33], Hq: 2, Hk: 1, D: 128, causal: true, windowLeft: 16 }],
    ['fp32 empty key sequence (zero rows)', { dtype: 'float32', seqQ: [3, 4], seqK: [0, 5], Hq: 2, Hk: 2, D: 32 }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      const r = await runVarlen(c);
      const where = `seed ${r.seed}`;
      expect(r.error, where).toBeLessThanOrEqual(bound(c.dtype));
      expect(r.lseError, where).toBeLessThanOrEqual(bound(c.dtype));
      expect(r.lseMaskedOk, where).toBe(true);
    });
  }
});

interface KVCase {
  dtype: FloatType;
  B: number;
  Sq: number;
  Hq: number;
  Hk: number;
  D: number;
  Dv?: number;
  capacity: number; // S_max, or blocks·block_size when paged
  layout?: 'BSHD' | 'BHSD';
  withNew: boolean;
  paged?: { blockSize: number; extraBlocks: number };
  causal?: boolean;
  alibi?: boolean;
  preallocateCaches?: boolean;
}

async function runKV(c: KVCase, seed = freshSeed()) {
  const rng = new Rng(seed);
  const { B, Sq, Hq, Hk, D } = c;
  const Dv = c.Dv ?? D;
  const round = (x: number) => roundTo(c.dtype, x);
  const bhsd = c.layout === 'BHSD';
  const lens = Array.from({ length: B }, () => rng.int(c.capacity - (c.withNew ? Sq : 0) + 1));
  if (!c.withNew) lens[0] = Math.max(lens[0]!, 1);
  // Cache storage and where (b, hk, t) lives in it.
  let cacheDims: (d: number) => number[];
  let at: (b: number, hk: number, t: number, d: number, dd: number) => number;
  let blockTable: number[] | undefined;
  let maxBlocks = 0;
  if (c.paged) {
    const bs = c.paged.blockSize;
    maxBlocks = c.capacity / bs;
    const numBlocks = B * maxBlocks + c.paged.extraBlocks;
    const perm = Array.from({ length: numBlocks }, (_, i) => i);
    for (let i = numBlocks - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    blockTable = perm.slice(0, B * maxBlocks);
    cacheDims = (d) => [numBlocks, bs, Hk, d];
    at = (b, hk, t, d, dd) => ((blockTable![b * maxBlocks + Math.floor(t / bs)]! * bs + (t % bs)) * Hk + hk) * dd + d;
  } else if (bhsd) {
    cacheDims = (d) => [B, Hk, c.capacity, d];
    at = (b, hk, t, d, dd) => ((b * Hk + hk) * c.capacity + t) * dd + d;
  } else {
    cacheDims = (d) => [B, c.capacity, Hk, d];
    at = (b, hk, t, d, dd) => ((b * c.capacity + t) * Hk + hk) * dd + d;
  }
  const kDims = cacheDims(D);
  const vDims = cacheDims(Dv);
  const kCache = randomValues(rng, kDims.reduce((a, b) => a * b, 1), round);
  const vCache = randomValues(rng, vDims.reduce((a, b) => a * b, 1), round);
  const qShape = bhsd ? [B, Hq, Sq, D] : [B, Sq, Hq, D];
  const q = randomValues(rng, B * Sq * Hq * D, round); // memory order of qShape
  const qAt = (b: number, h: number, i: number, d: number) => (bhsd ? ((b * Hq + h) * Sq + i) * D + d : ((b * Sq + i) * Hq + h) * D + d);
  const newShape = (d: number) => (bhsd ? [B, Hk, Sq, d] : [B, Sq, Hk, d]);
  const newAt = (b: number, hk: number, i: number, d: number, dd: number) => (bhsd ? ((b * Hk + hk) * Sq + i) * dd + d : ((b * Sq + i) * Hk + hk) * dd + d);
  const kNew = randomValues(rng, B * Sq * Hk * D, round);
  const vNew = randomValues(rng, B * Sq * Hk * Dv, round);
  const slopes = Float64Array.from({ length: Hq }, () => Math.fround(rng.uniform() * 0.3));

  const feeds: Record<string, Tensor> = {
    query: makeTensor(c.dtype, q, qShape),
    key_cache: makeTensor(c.dtype, kCache, kDims),
    value_cache: makeTensor(c.dtype, vCache, vDims),
    cache_seqlens: makeTensor('int32', lens, [B]),
  };
  const inputs: Array<IoSpec | null> = [{ name: 'query', type: c.dtype, dims: qShape }];
  if (c.withNew) {
    feeds['key_new'] = makeTensor(c.dtype, kNew, newShape(D));
    feeds['value_new'] = makeTensor(c.dtype, vNew, newShape(Dv));
    inputs.push({ name: 'key_new', type: c.dtype, dims: newShape(D) }, { name: 'value_new', type: c.dtype, dims: newShape(Dv) });
  } else inputs.push(null, null);
  inputs.push(
    { name: 'key_cache', type: c.dtype, dims: kDims },
    { name: 'value_cache', type: c.dtype, dims: vDims },
    { name: 'cache_seqlens', type: 'int32', dims: [B] },
  );
  if (blockTable) {
    feeds['block_table'] = makeTensor('int32', blockTable, [B, maxBlocks]);
    inputs.push({ name: 'block_table', type: 'int32', dims: [B, maxBlocks] });
  } else inputs.push(null);
  if (c.alibi) {
    feeds['alibi_slopes'] = makeTensor('float32', slopes, [Hq]);
    inputs.push({ name: 'alibi_slopes', type: 'float32', dims: [Hq] });
  }
  while (inputs.at(-1) === null) inputs.pop();
  const attrs: Record<string, AttrValue> = { layout: c.layout ?? 'BSHD' };
  if (c.causal) attrs['causal'] = 1;
  const oShape = bhsd ? [B, Hq, Sq, Dv] : [B, Sq, Hq, Dv];
  const fetches: Record<string, Tensor> = { output: poisoned(c.dtype, oShape), softmax_lse: poisoned('float32', [B, Hq, Sq]) };
  if (c.preallocateCaches) {
    fetches['key_cache_out'] = poisoned(c.dtype, kDims);
    fetches['value_cache_out'] = poisoned(c.dtype, vDims);
  }
  const model = singleNodeModel('FlashAttentionKVCache', inputs, [
    { name: 'output', type: c.dtype, dims: oShape },
    { name: 'key_cache_out', type: c.dtype, dims: kDims },
    { name: 'value_cache_out', type: c.dtype, dims: vDims },
    { name: 'softmax_lse', type: 'float32', dims: [B, Hq, Sq] },
  ], attrs);
  const session = await (await import('../../src/index.js')).createSession(model);
  let out: Record<string, Tensor>;
  try {
    const fetchNames = ['output', 'key_cache_out', 'value_cache_out', 'softmax_lse'];
    const res = await session.run(feeds, Object.fromEntries(fetchNames.map((n) => [n, fetches[n] ?? null])) as Record<string, Tensor | null> as never);
    out = Object.fromEntries(fetchNames.map((n) => [n, fetches[n] ?? res[n]!]));
  } finally {
    await session.release();
  }

  // Expected caches: the input caches with the new tokens written at lens[b]..
  const wantK = Float64Array.from(kCache);
  const wantV = Float64Array.from(vCache);
  if (c.withNew) {
    for (let b = 0; b < B; b++)
      for (let hk = 0; hk < Hk; hk++)
        for (let i = 0; i < Sq; i++) {
          for (let d = 0; d < D; d++) wantK[at(b, hk, lens[b]! + i, d, D)] = kNew[newAt(b, hk, i, d, D)]!;
          for (let d = 0; d < Dv; d++) wantV[at(b, hk, lens[b]! + i, d, Dv)] = vNew[newAt(b, hk, i, d, Dv)]!;
        }
  }
  const gotK = readFloats(c.dtype, out['key_cache_out']!);
  const gotV = readFloats(c.dtype, out['value_cache_out']!);
  const got = readFloats(c.dtype, out['output']!);
  const gotLse = readFloats('float32', out['softmax_lse']!);
  const want = new Float64Array(got.length);
  const wantLse = new Float64Array(B * Hq * Sq);
  for (let b = 0; b < B; b++) {
    const sk = lens[b]! + (c.withNew ? Sq : 0);
    const r = attendSequence({
      Hq, Hk, D, Dv, sq: Sq, sk,
      q: (h, i, d) => q[qAt(b, h, i, d)]!,
      k: (hk, j, d) => wantK[at(b, hk, j, d, D)]!,
      v: (hk, j, e) => wantV[at(b, hk, j, e, Dv)]!,
      causal: c.causal, bottomRight: true,
      alibiSlope: c.alibi ? (h) => slopes[h]! : undefined,
    });
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < Sq; i++) {
        wantLse[(b * Hq + h) * Sq + i] = r.lse[h * Sq + i]!;
        for (let e = 0; e < Dv; e++) want[bhsd ? ((b * Hq + h) * Sq + i) * Dv + e : ((b * Sq + i) * Hq + h) * Dv + e] = r.out[(h * Sq + i) * Dv + e]!;
      }
  }
  const cachesExact = gotK.every((x, i) => Object.is(x, wantK[i])) && gotV.every((x, i) => Object.is(x, wantV[i]));
  return { ...compare(seed, got, want, gotLse, wantLse), cachesExact };
}

describe('FlashAttentionKVCache on CPU', () => {
  const cases: Array<[string, KVCase]> = [
    ['fp32 BSHD contiguous, decode (Sq 1) with new tokens, GQA 4', { dtype: 'float32', B: 3, Sq: 1, Hq: 8, Hk: 2, D: 64, capacity: 127, withNew: true, preallocateCaches: true }],
    ['fp32 BHSD contiguous, Sq 7 causal with new tokens, ALiBi', { dtype: 'float32', B: 2, Sq: 7, Hq: 4, Hk: 4, D: 80, capacity: 64, layout: 'BHSD', withNew: true, causal: true, alibi: true }],
    ['fp16 BSHD, no new tokens (cache already holds them), Dv != D', { dtype: 'float16', B: 2, Sq: 3, Hq: 8, Hk: 1, D: 96, Dv: 64, capacity: 1000, withNew: false, causal: true, preallocateCaches: true }],
    ['bf16 paged (block 16, shuffled blocks) with new tokens, causal', { dtype: 'bfloat16', B: 3, Sq: 4, Hq: 4, Hk: 2, D: 128, capacity: 128, withNew: true, causal: true, paged: { blockSize: 16, extraBlocks: 3 }, preallocateCaches: true }],
    ['fp32 paged block 1, decode', { dtype: 'float32', B: 2, Sq: 1, Hq: 2, Hk: 2, D: 32, capacity: 7, withNew: true, paged: { blockSize: 1, extraBlocks: 0 } }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      const r = await runKV(c);
      const where = `seed ${r.seed}`;
      expect(r.cachesExact, where).toBe(true);
      expect(r.error, where).toBeLessThanOrEqual(bound(c.dtype));
      expect(r.lseError, where).toBeLessThanOrEqual(bound(c.dtype));
    });
  }
});
