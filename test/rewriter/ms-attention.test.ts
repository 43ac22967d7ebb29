// com.microsoft.MultiHeadAttention converted where it is a plain dense attention.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema } from 'onnx-buf';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, S = 5, H = 4, D = 8;

function mha(opts: { unidirectional?: number; bias?: boolean; keyPadding?: boolean | '1d'; kvLen?: number; fill?: number } = {}) {
  const g = new GraphBuilder(17);
  const L = opts.kvLen ?? S;
  const inputs = [g.input('q', [B, S, H * D]), g.input('k', [B, L, H * D]), g.input('v', [B, L, H * D])];
  if (opts.keyPadding) inputs.push('', g.input('kpm', opts.keyPadding === '1d' ? [B] : [B, L], DT.INT32));
  if (opts.bias) { while (inputs.length < 5) inputs.push(''); inputs.push(g.input('ab', [1, H, S, L])); }
  const y = g.node('MultiHeadAttention', inputs, { num_heads: H, ...(opts.unidirectional ? { unidirectional: 1 } : {}), ...(opts.fill ? { mask_filter_value: opts.fill } : {}) }, 1, 'com.microsoft')[0]!;
  const m = g.build(y, 'y', [B, S, H * D]);
  m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
  return m;
}

async function same(model: ReturnType<typeof mha>, maskedRow = false, emptyRow = false) {
  let s = 9;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of model.graph!.input) {
    const tt = i.type!.value.value as { shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    if (i.name === 'kpm') {
      // Batch 1's last two keys are padding (every key with emptyRow).
      const L = dims[1]!;
      feeds[i.name] = new ort.Tensor('int32', Int32Array.from({ length: B * L }, (_, x) => (x >= L && (emptyRow || x % L >= L - 2) ? 0 : 1)), dims);
      continue;
    }
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, r);
    // A fully masked row: head 0, query 0 sees no key.
    if (maskedRow && i.name === 'ab') data.fill(-Infinity, 0, dims[3]);
    feeds[i.name] = new ort.Tensor('float32', data, dims);
  }
  const { model: out, sites } = rewriteModel(model);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  const want = await runOriginal(bytesOf(model), feeds);
  const got = await runRewritten(out, feeds);
  expect(relativeMaxError(want.y!, got.y!)).toBeLessThan(1e-5);
  return sites[0]!;
}

describe('ms-multihead-attention', () => {
  it('converts plain, causal and biased MultiHeadAttention', async () => {
    expect((await same(mha())).attributes).toMatchObject({ num_heads: H, q: 'packed', k: 'packed', v: 'packed' });
    expect((await same(mha({ unidirectional: 1 }))).attributes).toMatchObject({ causal: 1 });
    expect((await same(mha({ bias: true }))).attributes).toMatchObject({ masked_rows: 'nan' });
    expect((await same(mha({ bias: true }), true)).attributes).toMatchObject({ masked_rows: 'nan' });
    expect((await same(mha({ kvLen: 7 }))).status).toBe('fused');
  });

  it('adds a [B, Sk] key padding mask as the finite bias ONNX Runtime adds', async () => {
    await same(mha({ keyPadding: true, kvLen: 7 }));
    await same(mha({ keyPadding: true, fill: -2.5 }));
    await same(mha({ keyPadding: true }), false, true);
    await same(mha({ keyPadding: true, bias: true }));
    expect((await same(mha({ keyPadding: true, unidirectional: 1, fill: -2.5 }))).attributes).toMatchObject({ causal: 1 });
    await same(mha({ keyPadding: true, unidirectional: 1, fill: -2.5 }), false, true);
  });

  it.each([
    ['a 1-D key padding mask (lengths)', { keyPadding: '1d' }, /key mask other than an int32/],
    ['unidirectional with different lengths', { unidirectional: 1, kvLen: 7 }, /alignment unknown/],
  ])('leaves %s alone', (_n, opts, reason) => {
    const { sites } = rewriteModel(mha(opts));
    expect(sites[0]!.status).toBe('skipped');
    expect(sites[0]!.reason).toMatch(reason);
  });
});
