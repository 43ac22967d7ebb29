// Our op in a real session through createSession: fa_onnx.FlashAttention against a float64
// reference, outputs NaN-poisoned first; errors from the op reject the run and the session lives on.
// (The op's own coverage is in the ops tests; this proves the library is loaded and wired up.)
import * as ortNode from 'onnxruntime-node';
import { InferenceSession, Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

import { backendNames, createSession } from '../../src/index.js';
import { model, valueInfo } from './models.js';

const faOpsets = [
  { domain: '', version: 21n },
  { domain: 'fa_onnx', version: 1n },
];

/** FlashAttention on BSHD float32 tensors, optionally through fp16 (Cast in, attention, Cast out). */
function attentionModel(opts: { B: number; Sq: number; Sk: number; Hq: number; Hk: number; D: number; causal?: number; fp16?: boolean }) {
  const { B, Sq, Sk, Hq, Hk, D } = opts;
  const attrs = [{ name: 'causal', type: 2, i: BigInt(opts.causal ?? 0) }];
  const names = opts.fp16 ? ['q16', 'k16', 'v16'] : ['q', 'k', 'v'];
  const nodes = opts.fp16
    ? [
        ...['q', 'k', 'v'].map((x) => ({ opType: 'Cast', input: [x], output: [`${x}16`], attribute: [{ name: 'to', type: 2, i: 10n }] })),
        { opType: 'FlashAttention', domain: 'fa_onnx', input: names, output: ['o16'], attribute: attrs },
        { opType: 'Cast', input: ['o16'], output: ['o'], attribute: [{ name: 'to', type: 2, i: 1n }] },
      ]
    : [{ opType: 'FlashAttention', domain: 'fa_onnx', input: names, output: ['o'], attribute: attrs }];
  return model({
    nodes,
    inputs: [valueInfo('q', 1, [B, Sq, Hq, D]), valueInfo('k', 1, [B, Sk, Hk, D]), valueInfo('v', 1, [B, Sk, Hk, D])],
    outputs: [valueInfo('o', 1, [B, Sq, Hq, D])],
    opsets: faOpsets,
  });
}

/** Float64 attention on BSHD data, top-left causal alignment as the contract's default. */
function reference(q: Float32Array, k: Float32Array, v: Float32Array, B: number, Sq: number, Sk: number, Hq: number, Hk: number, D: number, causal: boolean) {
  const out = new Float64Array(B * Sq * Hq * D);
  const scale = 1 / Math.sqrt(D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hk));
      for (let i = 0; i < Sq; i++) {
        const scores: number[] = [];
        for (let j = 0; j < Sk; j++) {
          if (causal && j > i) {
            scores.push(-Infinity);
            continue;
          }
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((b * Sq + i) * Hq + h) * D + d]! * k[((b * Sk + j) * Hk + hk) * D + d]!;
          scores.push(s * scale);
        }
        const max = Math.max(...scores);
        const p = scores.map((s) => Math.exp(s - max));
        const sum = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Sk; j++) acc += (p[j]! / sum) * v[((b * Sk + j) * Hk + hk) * D + d]!;
          out[((b * Sq + i) * Hq + h) * D + d] = acc;
        }
      }
    }
  return out;
}

const randn = (n: number) => Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * 1.5);

function relativeL2(got: Float32Array, want: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

describe('fa_onnx.FlashAttention through createSession', () => {
  it.each([
    { B: 2, Sq: 7, Sk: 7, Hq: 4, Hk: 4, D: 32, causal: 0, fp16: false, bound: 1e-5 },
    { B: 1, Sq: 9, Sk: 20, Hq: 8, Hk: 2, D: 80, causal: 1, fp16: false, bound: 1e-5 },
    { B: 3, Sq: 16, Sk: 16, Hq: 4, Hk: 1, D: 64, causal: 1, fp16: true, bound: 1e-2 },
  ])('B$B Sq$Sq Sk$Sk Hq$Hq Hk$Hk D$D causal=$causal fp16=$fp16 matches float64 within $bound', async (c) => {
    const session = await createSession(attentionModel(c));
    const q = randn(c.B * c.Sq * c.Hq * c.D);
    const k = randn(c.B * c.Sk * c.Hk * c.D);
    const v = randn(c.B * c.Sk * c.Hk * c.D);
    const o = new Tensor('float32', new Float32Array(c.B * c.Sq * c.Hq * c.D).fill(NaN), [c.B, c.Sq, c.Hq, c.D]);
    await session.run(
      {
        q: new Tensor('float32', q, [c.B, c.Sq, c.Hq, c.D]),
        k: new Tensor('float32', k, [c.B, c.Sk, c.Hk, c.D]),
        v: new Tensor('float32', v, [c.B, c.Sk, c.Hk, c.D]),
      },
      { o },
    );
    const got = o.data as Float32Array;
    expect(got.some(Number.isNaN)).toBe(false);
    expect(relativeL2(got, reference(q, k, v, c.B, c.Sq, c.Sk, c.Hq, c.Hk, c.D, c.causal === 1))).toBeLessThan(c.bound);
    await session.release();
  });

  it("onnxruntime-node's own session cannot run the op; ours can, in the same process", async () => {
    const bytes = attentionModel({ B: 1, Sq: 2, Sk: 2, Hq: 1, Hk: 1, D: 8 });
    await expect(ortNode.InferenceSession.create(bytes)).rejects.toThrow(/FlashAttention/);
    const session = await createSession(bytes);
    expect(session.inputNames).toEqual(['q', 'k', 'v']);
    await session.release();
  });

  it("InferenceSession.create with the backend names 'fa-onnx-cpu' runs the op too", async () => {
    expect(backendNames).toEqual({ cpu: 'fa-onnx-cpu', cuda: 'fa-onnx-cuda' });
    const session = await InferenceSession.create(attentionModel({ B: 1, Sq: 3, Sk: 3, Hq: 2, Hk: 1, D: 8 }), {
      executionProviders: ['fa-onnx-cpu'],
    });
    const t = (h: number) => new Tensor('float32', randn(3 * h * 8), [1, 3, h, 8]);
    const out = await session.run({ q: t(2), k: t(1), v: t(1) });
    expect(out['o']!.dims).toEqual([1, 3, 2, 8]);
    expect((out['o']!.data as Float32Array).every(Number.isFinite)).toBe(true);
    await session.release();
  });

  it('an op error (Hq not a multiple of Hk) rejects the run with the op message; the session keeps working', async () => {
    const dims = { B: 1, Sq: 3, Sk: 3, D: 16 };
    const session = await createSession(
      model({
        nodes: [{ opType: 'FlashAttention', domain: 'fa_onnx', input: ['q', 'k', 'v'], output: ['o'] }],
        inputs: [valueInfo('q', 1, [1, 3, 'hq', 16]), valueInfo('k', 1, [1, 3, 'hk', 16]), valueInfo('v', 1, [1, 3, 'hk', 16])],
        outputs: [valueInfo('o', 1, [1, 3, 'hq', 16])],
        opsets: faOpsets,
      }),
    );
    const t = (h: number) => new Tensor('float32', randn(dims.B * dims.Sq * h * dims.D), [1, 3, h, 16]);
    await expect(session.run({ q: t(3), k: t(2), v: t(2) })).rejects.toThrow(/Status Message: FlashAttention: .*multiple/);
    const ok = await session.run({ q: t(4), k: t(2), v: t(2) });
    expect(ok['o']!.dims).toEqual([1, 3, 4, 16]);
    expect((ok['o']!.data as Float32Array).every(Number.isFinite)).toBe(true);
    await session.release();
  });
});
