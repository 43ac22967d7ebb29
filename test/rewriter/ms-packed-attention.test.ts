// com.microsoft.Attention (QKV projection inside the op) converted to MatMul + Add + Split and
// FlashAttention where its attention is plain; compared with the original on the CPU provider.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema } from 'onnx-buf';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, S = 5, H = 2, HID = 16;

interface Opts {
  attrs?: Record<string, number | number[]>;
  noBias?: boolean;
  sizes?: [number, number, number];
  maskIndex?: '1d' | '2d';
  past?: boolean;
  attentionBias?: boolean;
  presentUsed?: boolean;
}

function attention(o: Opts = {}) {
  const g = new GraphBuilder(17);
  let s = 5;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const sizes = o.sizes ?? [HID, HID, HID];
  const width = sizes[0] + sizes[1] + sizes[2];
  const inputs = [
    g.input('x', [B, S, HID]),
    g.floats(Array.from({ length: HID * width }, () => r() * 0.5), [HID, width]),
    o.noBias ? '' : g.floats(Array.from({ length: width }, () => r() * 0.5), [width]),
  ];
  if (o.maskIndex) inputs[3] = g.input('mask_index', o.maskIndex === '1d' ? [B] : [B, S], DT.INT32);
  if (o.past) inputs[4] = g.input('past', [2, B, H, 3, HID / H]);
  if (o.attentionBias) inputs[5] = g.input('ab', [1, H, S, S]);
  for (let i = 0; i < inputs.length; i++) inputs[i] ??= '';
  const attrs = { num_heads: H, ...(o.sizes ? { qkv_hidden_sizes: o.sizes } : {}), ...o.attrs };
  const [y, present] = g.node('Attention', inputs, attrs, 2, 'com.microsoft');
  if (o.presentUsed) { g.output('y', [B, S, sizes[2]]); g.output(present!, [2, B, H, S, HID / H]); }
  const m = g.build(y!, 'y', [B, S, sizes[2]]);
  m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
  return m;
}

/** mask_index [B, S]: batch 1's last two keys masked, or every key of batch 1 (`emptyRow`). */
async function same(model: ReturnType<typeof attention>, maskedRow = false, emptyRow = false) {
  let s = 13;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const feeds: Record<string, ort.Tensor> = {};
  const init = new Set(model.graph!.initializer.map((t) => t.name));
  for (const i of model.graph!.input) {
    if (init.has(i.name)) continue;
    const tt = i.type!.value.value as { shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    if (i.name === 'mask_index') {
      feeds[i.name] = new ort.Tensor('int32', Int32Array.from({ length: B * S }, (_, x) => (x >= S && (emptyRow || x % S >= S - 2) ? 0 : 1 + (x % 2))), dims);
      continue;
    }
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2);
    if (maskedRow && i.name === 'ab') data.fill(-Infinity, 0, S);
    feeds[i.name] = new ort.Tensor('float32', data, dims);
  }
  const { model: out, sites } = rewriteModel(model);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  expect(out.graph!.node.some((n) => n.opType === 'Attention')).toBe(false);
  const want = await runOriginal(bytesOf(model), feeds);
  const got = await runRewritten(out, feeds);
  expect(relativeMaxError(want.y!, got.y!)).toBeLessThan(1e-5);
  return sites[0]!;
}

describe('ms-attention (com.microsoft.Attention)', () => {
  it('converts the projection and a plain attention', async () => {
    expect((await same(attention())).attributes).toMatchObject({ num_heads: H, kv_num_heads: H, q: 'packed' });
    await same(attention({ attrs: { scale: 0.2 } }));
  });

  it('converts unidirectional to causal', async () => {
    expect((await same(attention({ attrs: { unidirectional: 1 } }))).attributes).toMatchObject({ causal: 1 });
  });

  it('follows qkv_hidden_sizes (a wider value)', async () => {
    await same(attention({ sizes: [HID, HID, 2 * HID] }));
  });

  it('adds attention_bias, NaN rows included', async () => {
    expect((await same(attention({ attentionBias: true }))).attributes).toMatchObject({ masked_rows: 'nan' });
    await same(attention({ attentionBias: true }), true);
  });

  it('turns a [B, S] mask_index into the additive bias ONNX Runtime applies', async () => {
    await same(attention({ maskIndex: '2d' }));
    await same(attention({ maskIndex: '2d', attrs: { mask_filter_value: -2.5 } }));
    // A sequence with every key masked: ONNX Runtime's finite fill leaves a softmax over all keys.
    await same(attention({ maskIndex: '2d' }), false, true);
    await same(attention({ maskIndex: '2d', attentionBias: true }));
    // With unidirectional: future keys excluded, padded ones get the fill (rows with every
    // visible key padded included).
    expect((await same(attention({ maskIndex: '2d', attrs: { unidirectional: 1, mask_filter_value: -2.5 } }))).attributes).toMatchObject({ causal: 1 });
    await same(attention({ maskIndex: '2d', attrs: { unidirectional: 1, mask_filter_value: -2.5 } }), false, true);
  });

  it.each([
    ['a 1-D mask_index (key lengths)', { maskIndex: '1d' }, /key mask other than an int32 \[B, Sk\] mask/],
    ['a past state', { past: true }, /past state/],
    ['a used present output', { presentUsed: true }, /present output is used/],
    ['a missing bias (ORT 1.30 CPU crashes on it: not checkable)', { noBias: true }, /without a bias/],
    ['rotary inside the op', { attrs: { do_rotary: 1 } }, /rotary/],
    ['q and k of different sizes', { sizes: [HID, 2 * HID, HID] }, /q and k sizes differ/],
  ] as [string, Opts, RegExp][])('leaves %s alone', (_n, opts, reason) => {
    const { model: out, sites } = rewriteModel(attention(opts));
    expect(sites[0]!.status).toBe('skipped');
    expect(sites[0]!.reason).toMatch(reason);
    expect(out.graph!.node.some((n) => n.opType === 'Attention')).toBe(true);
    expect(out.graph!.node.some((n) => n.opType === 'MatMul' || n.opType === 'Split')).toBe(false);
  });
});
