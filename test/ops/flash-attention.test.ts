// fa_onnx.FlashAttention on the CPU provider against the float64 reference (test/ops/reference.ts):
// fresh random inputs, outputs NaN-poisoned first, bounds fp32 <= 1e-5 and fp16/bf16 <= 1e-2 relative
// L2 (the reference sees the inputs already rounded to the dtype). Each case prints its seed on failure.
import { describe, expect, it } from 'vitest';

import { type DenseCase, bound, runDenseCase } from './dense-case.js';

async function check(c: DenseCase) {
  const r = await runDenseCase(c);
  const where = `seed ${r.seed}, case ${JSON.stringify(c)}`;
  expect(r.error, where).toBeLessThanOrEqual(bound(c.dtype));
  expect(r.nanRowsOk, where).toBe(true);
  if (c.lse) {
    expect(r.lseError, where).toBeLessThanOrEqual(bound(c.dtype));
    expect(r.lseMaskedOk, where).toBe(true);
  }
  return r;
}

describe('FlashAttention on CPU: shapes, layouts, dtypes', () => {
  const cases: Array<[string, DenseCase]> = [
    ['fp32 BSHD MHA D64 S64', { dtype: 'float32', B: 2, Sq: 64, Sk: 64, Hq: 4, Hk: 4, D: 64, lse: true }],
    ['fp32 BHSD GQA4 D80 S127 causal', { dtype: 'float32', B: 1, Sq: 127, Sk: 127, Hq: 8, Hk: 2, D: 80, layout: 'BHSD', causal: true, lse: true }],
    ['fp32 packed MQA8 D96 Sq7 Sk1000 bottom-right causal', { dtype: 'float32', B: 3, Sq: 7, Sk: 1000, Hq: 8, Hk: 1, D: 96, qPacked: true, kvPacked: true, causal: true, bottomRight: true, lse: true }],
    ['fp32 Sq1000 Sk7 top-left causal', { dtype: 'float32', B: 1, Sq: 1000, Sk: 7, Hq: 2, Hk: 2, D: 32, causal: true, lse: true }],
    ['fp32 odd D33 Dv 45, Sq 1', { dtype: 'float32', B: 4, Sq: 1, Sk: 127, Hq: 4, Hk: 4, D: 33, Dv: 45 }],
    ['fp32 D256 mixed ranks (packed query, BHSD kv)', { dtype: 'float32', B: 2, Sq: 64, Sk: 7, Hq: 4, Hk: 1, D: 256, qPacked: true, layout: 'BHSD' }],
    ['fp32 D512 Dv 17', { dtype: 'float32', B: 1, Sq: 7, Sk: 64, Hq: 1, Hk: 1, D: 512, Dv: 17 }],
    ['fp16 BSHD D128 S1000 causal', { dtype: 'float16', B: 1, Sq: 1000, Sk: 1000, Hq: 2, Hk: 2, D: 128, causal: true, lse: true }],
    ['fp16 BHSD GQA8 D160 S127', { dtype: 'float16', B: 2, Sq: 127, Sk: 64, Hq: 8, Hk: 1, D: 160, layout: 'BHSD' }],
    ['bf16 packed D96 Sq1 Sk1000', { dtype: 'bfloat16', B: 4, Sq: 1, Sk: 1000, Hq: 4, Hk: 4, D: 96, qPacked: true, kvPacked: true, lse: true }],
    ['bf16 BSHD GQA4 D64 S127 causal bottom-right', { dtype: 'bfloat16', B: 3, Sq: 64, Sk: 127, Hq: 4, Hk: 1, D: 64, causal: true, bottomRight: true }],
    ['bf16 D1 and Dv 1', { dtype: 'bfloat16', B: 1, Sq: 7, Sk: 7, Hq: 1, Hk: 1, D: 1 }],
    ['fp32 B4 Sq1 Sk1', { dtype: 'float32', B: 4, Sq: 1, Sk: 1, Hq: 2, Hk: 1, D: 32, lse: true }],
  ];
  for (const [name, c] of cases) it(name, async () => void (await check(c)));
});

describe('FlashAttention on CPU: features', () => {
  const base = { B: 2, Sq: 64, Sk: 127, Hq: 4, Hk: 2, D: 64, lse: true } as const;
  const cases: Array<[string, DenseCase]> = [
    ['explicit scale', { ...base, dtype: 'float32', scale: 0.3 }],
    ['softcap', { ...base, dtype: 'float32', softcap: 2.5, scale: 1.5 }],
    ['softcap fp16', { ...base, dtype: 'float16', softcap: 5 }],
    ['window left/right top-left', { ...base, dtype: 'float32', windowLeft: 9, windowRight: 3 }],
    ['window left only bottom-right', { ...base, dtype: 'float32', windowLeft: 17, bottomRight: true }],
    ['causal + window_left (sliding window)', { ...base, dtype: 'float32', causal: true, windowLeft: 20, bottomRight: true }],
    ['causal with Sk < Sq bottom-right: leading rows fully masked (zero)', { ...base, dtype: 'float32', Sq: 127, Sk: 64, causal: true, bottomRight: true }],
    ['bias [Sk] (rank 1)', { ...base, dtype: 'float32', bias: [127] }],
    ['bias [B, 1, Sq, Sk]', { ...base, dtype: 'float32', bias: [2, 1, 64, 127] }],
    ['bias [Hq, 1, 1] fp16', { ...base, dtype: 'float16', bias: [4, 1, 1] }],
    ['bias full [B, Hq, Sq, Sk] bf16', { ...base, dtype: 'bfloat16', bias: [2, 4, 64, 127] }],
    ['bool mask [B, 1, Sq, Sk] with empty rows: zero', { ...base, dtype: 'float32', mask: { dims: [2, 1, 64, 127], keep: 0.6, emptyRows: true }, maskedRows: 'zero' }],
    ['bool mask with empty rows: uniform', { ...base, dtype: 'float32', mask: { dims: [2, 1, 64, 127], keep: 0.6, emptyRows: true }, maskedRows: 'uniform' }],
    ['bool mask with empty rows: nan', { ...base, dtype: 'float32', mask: { dims: [2, 1, 64, 127], keep: 0.6, emptyRows: true }, maskedRows: 'nan' }],
    ['bool mask [Sq, Sk] + causal + bias fp16', { ...base, dtype: 'float16', mask: { dims: [64, 127], keep: 0.8 }, causal: true, bias: [1, 4, 64, 1] }],
    ['key_lengths incl. 0 (uniform)', { ...base, dtype: 'float32', keyLengths: [0, 50], maskedRows: 'uniform' }],
    ['key_lengths with causal bottom-right', { ...base, dtype: 'float32', keyLengths: [127, 70], causal: true, bottomRight: true }],
    ['ALiBi [Hq]', { ...base, dtype: 'float32', alibi: 'heads' }],
    ['ALiBi [B, Hq] causal bottom-right bf16', { ...base, dtype: 'bfloat16', alibi: 'batch', causal: true, bottomRight: true }],
    // Several query tiles per KV head: key/value tiles are converted once and shared (PreparedKV).
    ['shared key tiles: GQA 4, key_lengths, causal bottom-right window, ALiBi', { dtype: 'float32', B: 2, Sq: 300, Sk: 1000, Hq: 8, Hk: 2, D: 64, keyLengths: [1000, 517], causal: true, bottomRight: true, windowLeft: 200, alibi: 'batch', lse: true }],
    ['shared key tiles fp16 with bias and mask', { dtype: 'float16', B: 1, Sq: 200, Sk: 300, Hq: 2, Hk: 2, D: 48, Dv: 40, bias: [1, 2, 200, 300], mask: { dims: [200, 300], keep: 0.7 } }],
    ['everything at once', { ...base, dtype: 'float32', softcap: 4, bias: [1, 1, 64, 127], mask: { dims: [2, 4, 64, 127], keep: 0.9 }, keyLengths: [100, 127], alibi: 'heads', causal: true, bottomRight: true, windowLeft: 30, maskedRows: 'uniform' }],
  ];
  for (const [name, c] of cases) {
    it(name, async () => {
      const r = await check(c);
      if (c.mask?.emptyRows || c.keyLengths?.includes(0) || name.includes('fully masked')) expect(r.maskedRows).toBeGreaterThan(0);
    });
  }
});

describe('FlashAttentionFp8 on CPU', () => {
  it('scalar descales, GQA, causal', async () => {
    await check({ dtype: 'fp8', B: 2, Sq: 64, Sk: 127, Hq: 4, Hk: 2, D: 64, descale: 'scalar', causal: true, lse: true });
  });
  it('per [B, Hk] descales, BHSD, key_lengths and ALiBi', async () => {
    await check({ dtype: 'fp8', B: 2, Sq: 7, Sk: 64, Hq: 8, Hk: 2, D: 128, layout: 'BHSD', descale: 'per-head', keyLengths: [64, 30], alibi: 'heads', lse: true });
  });
});

describe('the comparison can fail', () => {
  // The same harness against a reference that differs in one attribute must exceed the bound.
  const base = { dtype: 'float32', B: 1, Sq: 64, Sk: 64, Hq: 2, Hk: 2, D: 32 } as const;
  const wrong: Array<[string, DenseCase]> = [
    ['causal', { ...base, causal: true, referenceOverrides: { causal: false } }],
    ['alignment', { ...base, Sk: 127, causal: true, bottomRight: true, referenceOverrides: { bottomRight: false } }],
    ['softcap', { ...base, softcap: 0.5, referenceOverrides: { softcap: 0 } }],
    ['masked rows', { ...base, mask: { dims: [64, 64], keep: 0.5, emptyRows: true }, maskedRows: 'uniform', referenceOverrides: { maskedRows: 'zero' } }],
  ];
  for (const [name, c] of wrong) {
    it(`a wrong ${name} is caught`, async () => {
      const r = await runDenseCase(c);
      expect(r.error).toBeGreaterThan(bound(c.dtype));
    });
  }
});

describe('concurrent runs', () => {
  it('sessions running at once each get their own scratch and match the reference', async () => {
    const a: DenseCase = { dtype: 'float32', B: 1, Sq: 400, Sk: 400, Hq: 4, Hk: 4, D: 64, causal: true, lse: true };
    const b: DenseCase = { dtype: 'bfloat16', B: 2, Sq: 300, Sk: 500, Hq: 8, Hk: 2, D: 96, lse: true };
    const results = await Promise.all([runDenseCase(a), runDenseCase(b), runDenseCase(a), runDenseCase(b)]);
    results.forEach((r, i) => {
      expect(r.error, `run ${i}, seed ${r.seed}`).toBeLessThanOrEqual(bound(i % 2 ? b.dtype : a.dtype));
      expect(r.lseError, `run ${i}, seed ${r.seed}`).toBeLessThanOrEqual(bound(i % 2 ? b.dtype : a.dtype));
    });
  });
});
