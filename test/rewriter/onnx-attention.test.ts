// ONNX Attention (opset 23) nodes converted where the semantics match, left alone otherwise.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, S = 5, T = 6, H = 4, HK = 2, D = 8;

function attention(opts: { attrs?: Record<string, number>; mask?: 'bool' | 'float' | 'short'; past?: boolean; qkOut?: boolean; rank?: 3 | 4 } = {}) {
  const g = new GraphBuilder(23);
  const rank = opts.rank ?? 3;
  const q = g.input('q', rank === 3 ? [B, S, H * D] : [B, H, S, D]);
  const k = g.input('k', rank === 3 ? [B, T, HK * D] : [B, HK, T, D]);
  const v = g.input('v', rank === 3 ? [B, T, HK * D] : [B, HK, T, D]);
  const inputs = [q, k, v];
  if (opts.mask) inputs.push(g.input('m', [S, opts.mask === 'short' ? T - 2 : T], opts.mask === 'bool' ? DT.BOOL : DT.FLOAT));
  if (opts.past) { while (inputs.length < 4) inputs.push(''); inputs.push(g.input('pk', [B, HK, 1, D]), g.input('pv', [B, HK, 1, D])); }
  const attrs = { ...(rank === 3 ? { q_num_heads: H, kv_num_heads: HK } : {}), ...opts.attrs };
  const outs = g.node('Attention', inputs, attrs, opts.qkOut ? 4 : 1);
  if (opts.qkOut) g.output(outs[3]!, [B, H, S, T]);
  const model = g.build(outs[0]!, 'y', rank === 3 ? [B, S, H * D] : [B, H, S, D]);
  return model;
}

async function expectSame(model: ReturnType<typeof attention>, maskedRow = false) {
  const feeds: Record<string, ort.Tensor> = {};
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (const i of model.graph!.input) {
    const tt = i.type!.value.value as { elemType: number; shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    const n = dims.reduce((a, b) => a * b, 1);
    // With maskedRow, query 0 sees no key (a fully masked row).
    feeds[i.name] = tt.elemType === DT.BOOL ? new ort.Tensor('bool', Uint8Array.from({ length: n }, (_, j) => (j % 3 === 2 || (maskedRow && j < T) ? 0 : 1)), dims)
      : new ort.Tensor('float32', Float32Array.from({ length: n }, (_, j) => (maskedRow && i.name === 'm' && j < T ? -Infinity : rand())), dims);
  }
  const { model: rewritten, sites } = rewriteModel(model);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  const want = await runOriginal(bytesOf(model), feeds);
  const got = await runRewritten(rewritten, feeds);
  expect(relativeMaxError(want.y!, got.y!)).toBeLessThan(1e-5);
  return sites[0]!;
}

describe('onnx-attention', () => {
  it('converts rank-3 GQA attention with its head counts and default scale', async () => {
    const site = await expectSame(attention());
    expect(site.attributes).toMatchObject({ num_heads: H, kv_num_heads: HK, q: 'packed', k: 'packed', v: 'packed' });
    expect(site.attributes!.scale).toBeCloseTo(1 / Math.sqrt(D), 7);
  });

  it('converts rank-4 attention with is_causal, scale, softcap and masks', async () => {
    expect((await expectSame(attention({ rank: 4, attrs: { is_causal: 1 } }))).attributes).toMatchObject({ causal: 1, layout: 'BHSD' });
    expect((await expectSame(attention({ attrs: { scale: 0.3 } }))).attributes!.scale).toBeCloseTo(0.3, 6);
    expect((await expectSame(attention({ attrs: { softcap: 2 } }))).attributes!.softcap).toBe(2);
    expect((await expectSame(attention({ mask: 'bool' }))).attributes!.masked_rows).toBe('zero');
    expect((await expectSame(attention({ mask: 'float' }))).attributes!.masked_rows).toBe('zero');
    // What ONNX Runtime's kernel gives a fully masked row, reproduced.
    await expectSame(attention({ mask: 'bool' }), true);
    await expectSame(attention({ mask: 'float' }), true);
  });

  it.each([
    ['a past key/value cache', { past: true }, /past key\/value/],
    ['the QK-matmul output in use', { qkOut: true }, /QK-matmul output/],
    ['a mask shorter than the keys', { mask: 'short' as const }, /not proven to broadcast/],
  ])('leaves %s alone', (_name, opts, reason) => {
    const { model, sites } = rewriteModel(attention(opts));
    expect(sites[0]!.status).toBe('skipped');
    expect(sites[0]!.reason).toMatch(reason);
    expect(model.graph!.node.some((n) => n.opType === 'Attention')).toBe(true);
  });
});
