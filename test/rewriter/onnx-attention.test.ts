// ONNX Attention (opset 23) nodes converted where the semantics match, left alone otherwise.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, S = 5, T = 6, H = 4, HK = 2, D = 8;

function attention(opts: { attrs?: Record<string, number>; mask?: 'bool' | 'float' | 'short'; past?: boolean; qkOut?: boolean; rank?: 3 | 4 } = {}) {
  const P = 3;
  const g = new GraphBuilder(23);
  const rank = opts.rank ?? 3;
  const q = g.input('q', rank === 3 ? [B, S, H * D] : [B, H, S, D]);
  const k = g.input('k', rank === 3 ? [B, T, HK * D] : [B, HK, T, D]);
  const v = g.input('v', rank === 3 ? [B, T, HK * D] : [B, HK, T, D]);
  const inputs = [q, k, v];
  const total = opts.past ? T + P : T;
  if (opts.mask) inputs.push(g.input('m', [S, opts.mask === 'short' ? total - 2 : total], opts.mask === 'bool' ? DT.BOOL : DT.FLOAT));
  if (opts.past) { while (inputs.length < 4) inputs.push(''); inputs.push(g.input('pk', [B, HK, P, D]), g.input('pv', [B, HK, P, D])); }
  const attrs = { ...(rank === 3 ? { q_num_heads: H, kv_num_heads: HK } : {}), ...opts.attrs };
  const outs = g.node('Attention', inputs, attrs, opts.qkOut ? 4 : opts.past ? 3 : 1);
  // The present key/value are graph outputs, as in a decoder with a cache.
  if (opts.past) { g.output('y', rank === 3 ? [B, S, H * D] : [B, H, S, D]); g.output(outs[1]!, [B, HK, total, D]); g.output(outs[2]!, [B, HK, total, D]); }
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
    const n = dims.reduce((a, b) => a * b, 1), keys = dims[dims.length - 1]!;
    // With maskedRow, query 0 sees no key (a fully masked row).
    feeds[i.name] = tt.elemType === DT.BOOL ? new ort.Tensor('bool', Uint8Array.from({ length: n }, (_, j) => (j % 3 === 2 || (maskedRow && j < keys) ? 0 : 1)), dims)
      : new ort.Tensor('float32', Float32Array.from({ length: n }, (_, j) => (maskedRow && i.name === 'm' && j < keys ? -Infinity : rand())), dims);
  }
  const { model: rewritten, sites } = rewriteModel(model);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  const want = await runOriginal(bytesOf(model), feeds);
  const got = await runRewritten(rewritten, feeds);
  for (const name of Object.keys(want)) expect(relativeMaxError(want[name]!, got[name]!), name).toBeLessThan(1e-5);
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

  it('converts attention with a past cache: k, v and the present outputs are Concat(past, new)', async () => {
    expect((await expectSame(attention({ past: true }))).attributes).toMatchObject({ layout: 'BHSD', q: 'packed', k: 'BHSD', kv_num_heads: HK });
    await expectSame(attention({ past: true, rank: 4, mask: 'bool' }));
    const { sites } = rewriteModel(attention({ past: true, attrs: { is_causal: 1 } }));
    expect(sites[0]!.reason).toMatch(/causal Attention with a past/);
  });

  it.each([
    ['the QK-matmul output in use', { qkOut: true }, /QK-matmul output/],
    ['a mask shorter than the keys', { mask: 'short' as const }, /not proven to broadcast/],
  ])('leaves %s alone', (_name, opts, reason) => {
    const { model, sites } = rewriteModel(attention(opts));
    expect(sites[0]!.status).toBe('skipped');
    expect(sites[0]!.reason).toMatch(reason);
    expect(model.graph!.node.some((n) => n.opType === 'Attention')).toBe(true);
  });
});
