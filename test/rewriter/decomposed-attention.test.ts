// The decomposed-attention pass on small graphs: each variation fuses with the right attributes
// and computes what the original computes; near misses are left alone with a reason.
import { describe, expect, it } from 'vitest';
import { rewriteModel, inspectModel } from '../../src/rewriter/index.js';
import { attentionModel, feedsFor, type AttentionOptions } from './attention-graphs.js';
import { bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

async function expectSameOutputs(opts: AttentionOptions): Promise<void> {
  const original = attentionModel(opts);
  const { model, sites } = rewriteModel(original);
  expect(sites[0]?.status, sites[0]?.reason).toBe('fused');
  const feeds = feedsFor(original);
  const want = await runOriginal(bytesOf(original), feeds);
  const got = await runRewritten(model, feeds);
  const err = relativeMaxError(want.y!, got.y!);
  expect(err).toBeLessThan(1e-5);
}

function only(opts: AttentionOptions) {
  const { model, sites } = rewriteModel(attentionModel(opts));
  expect(sites).toHaveLength(1);
  return { model, site: sites[0]! };
}

describe('fuses', () => {
  it('Softmax(Q·Kᵀ·scale)·V on rank-4 inputs, keeping the model around it', () => {
    const original = attentionModel();
    const { model, site } = only({});
    expect(site).toMatchObject({ status: 'fused', pattern: 'decomposed-attention', op: 'fa_onnx.FlashAttention' });
    expect(site.attributes).toMatchObject({ layout: 'BHSD', num_heads: 4, kv_num_heads: 4, q: 'BHSD', k: 'BHSD', v: 'BHSD' });
    expect(site.attributes!.scale).toBeCloseTo(1 / Math.sqrt(8), 7);
    expect(site.removedNodes).toEqual(expect.arrayContaining(['Softmax_4', 'Mul_3', 'MatMul_1', 'MatMul_5', 'Transpose_0']));
    expect(model.graph!.node.map((n) => n.opType)).toEqual(['FlashAttention', 'Identity']);
    expect(model.graph!.initializer).toHaveLength(0); // the scale constant became dead
    expect(model.metadataProps).toEqual(original.metadataProps);
    expect(model.opsetImport.map((o) => [o.domain, o.version])).toEqual([['', 17n], ['fa_onnx', 1n]]);
    // The input model is not changed.
    expect(original.graph!.node.some((n) => n.opType === 'Softmax')).toBe(true);
  });

  it('inspect reports the same sites without changing the model', () => {
    const original = attentionModel({ form: 'packed' });
    const before = bytesOf(original);
    const sites = inspectModel(original);
    expect(sites.map((s) => s.status)).toEqual(['fused']);
    expect(bytesOf(original)).toEqual(before);
  });

  it('absorbs the head split and merge into packed rank-3 inputs and output', () => {
    const { model, site } = only({ form: 'packed' });
    expect(site.attributes).toMatchObject({ q: 'packed', k: 'packed', v: 'packed', num_heads: 4 });
    expect(site.attributes!.layout).toBeUndefined();
    expect(model.graph!.node.filter((n) => ['Reshape', 'Transpose'].includes(n.opType))).toHaveLength(0);
  });

  it.each<[string, AttentionOptions]>([
    ['rank-4', {}],
    ['packed', { form: 'packed' }],
    ['Div scale', { scale: 'div' }],
    ['sqrt scale split on Q and K', { scale: 'sqrt-split' }],
    ['Einsum q·k', { qk: 'einsum' }],
    ['Einsum p·v', { pvEinsum: true }],
    ['additive finfo.min mask through a Cast', { mask: 'additive-min', maskCastTo: 1 }],
    ['softcap', { softcap: 5 }],
    ['Dropout', { dropout: true }],
    ['boolean Where mask (-inf)', { mask: 'bool-where' }],
    ['additive finfo.min mask', { mask: 'additive-min' }],
    ['additive -inf mask', { mask: 'additive-inf' }],
    ['additive -10000 mask (kept as a bias)', { mask: 'additive-weak' }],
    ['float bias', { mask: 'bias' }],
    ['GQA repeat_kv (Unsqueeze/Expand/Reshape)', { kvHeads: 2 }],
    ['GQA, packed', { kvHeads: 2, form: 'packed' }],
    ['MQA', { kvHeads: 1 }],
    ['heads repeated with Tile (kept, not absorbed)', { kvHeads: 2, tileRepeat: true }],
  ])('%s, matching the original numerically', async (_name, opts) => {
    await expectSameOutputs(opts);
  });

  it('chooses masked_rows from what the original gives a fully masked row', () => {
    expect(only({ mask: 'bool-where' }).site.attributes!.masked_rows).toBe('nan');
    expect(only({ mask: 'additive-inf' }).site.attributes!.masked_rows).toBe('nan');
    expect(only({ mask: 'additive-min' }).site.attributes!.masked_rows).toBe('uniform');
    // -10000 is not a sure exclusion: kept as an additive bias, exact whatever the row.
    const weak = only({ mask: 'additive-weak' });
    expect(weak.site.attributes!.masked_rows).toBe('nan');
    expect(weak.model.graph!.node.find((n) => n.opType === 'FlashAttention')!.input[3]).toMatch(/Where/);
  });

  it('does not absorb a view that is not a head split (heads inner)', async () => {
    const { model, site } = only({ headsInnerQ: true });
    expect(site.attributes).toMatchObject({ q: 'BHSD', layout: 'BHSD' });
    const fa = model.graph!.node.find((n) => n.opType === 'FlashAttention')!;
    expect(model.graph!.node.find((n) => n.output[0] === fa.input[0])?.opType).toBe('Transpose');
    await expectSameOutputs({ headsInnerQ: true });
  });

  it('reads a float32 finfo.min mask cast to float16 as -inf (overflow), i.e. an exact exclusion', () => {
    const site = only({ mask: 'additive-min', maskCastTo: 10 }).site;
    // The graph is float32 elsewhere, so the float16 mask does not fit the Add: only the reading is checked.
    expect(site.status === 'skipped' ? site.reason : site.attributes!.masked_rows).toBe('nan');
  });

  it('carries softcap and GQA head counts', () => {
    expect(only({ softcap: 5 }).site.attributes!.softcap).toBe(5);
    expect(only({ kvHeads: 2 }).site.attributes).toMatchObject({ num_heads: 4, kv_num_heads: 2 });
    expect(only({ kvHeads: 1 }).site.attributes).toMatchObject({ num_heads: 4, kv_num_heads: 1 });
    // Tile repeats kv heads in the other order (head h reads kv head h mod Hk): the copy stays.
    expect(only({ kvHeads: 2, tileRepeat: true }).site.attributes).toMatchObject({ num_heads: 4, kv_num_heads: 4 });
  });

  it('inserts Casts for float16 compute only when asked', () => {
    const m = attentionModel({ form: 'packed' });
    const keep = rewriteModel(m).model.graph!.node.filter((n) => n.opType === 'Cast');
    expect(keep).toHaveLength(0);
    const { model, sites } = rewriteModel(m, { computeDtype: 'float16' });
    expect(sites[0]!.attributes!.compute).toBe('float16');
    const casts = model.graph!.node.filter((n) => n.opType === 'Cast');
    expect(casts.map((n) => Number(n.attribute[0]!.i))).toEqual([10, 10, 10, 1]);
  });

  it('computes in float16 when asked, within float16 bounds of the float32 original', async () => {
    const m = attentionModel({ form: 'packed', mask: 'additive-min' });
    const feeds = feedsFor(m);
    const want = await runOriginal(bytesOf(m), feeds);
    const got = await runRewritten(rewriteModel(m, { computeDtype: 'float16' }).model, feeds);
    const err = relativeMaxError(want.y!, got.y!);
    expect(err).toBeLessThan(1e-2);
    expect(err).toBeGreaterThan(1e-6); // it really ran in float16
  });
});

describe('leaves near misses alone, with a reason', () => {
  it.each<[string, AttentionOptions, RegExp]>([
    ['softmax over the wrong axis', { softmaxAxis: 2 }, /axis 2/],
    ['a scale that is not constant', { scale: 'input' }, /non-constant/],
    ['K given already transposed', { ktInput: true }, /K is not/],
    ['a bias added before the scale', { biasBeforeScale: true, mask: 'bias' }, /before the scale/],
  ])('%s', (_name, opts, reason) => {
    const { model, site } = only(opts);
    // Nothing fused: the model comes back byte for byte.
    expect(bytesOf(model)).toEqual(bytesOf(attentionModel(opts)));
    expect(site.status).toBe('skipped');
    expect(site.reason).toMatch(reason);
    expect(model.graph!.node.some((n) => n.domain === 'fa_onnx')).toBe(false);
    expect(model.opsetImport.some((o) => o.domain === 'fa_onnx')).toBe(false);
  });
});

describe('the target provider', () => {
  it('leaves a head dim the CUDA kernels do not take for --target cuda, and fuses it for cpu', async () => {
    const m = attentionModel({ headDim: 12 });
    const cuda = rewriteModel(m, { target: 'cuda' }).sites[0]!;
    expect(cuda.status).toBe('skipped');
    expect(cuda.reason).toMatch(/head dim 12 .*CUDA kernels take \(multiples of 8 up to 256\).*--target cpu/);
    expect(rewriteModel(m, { target: 'cpu' }).sites[0]!.status).toBe('fused');
    await expectSameOutputs({ headDim: 12 }); // no target: the contract alone, which takes 12
  });

  it('fuses head dims both providers take, and refuses above each limit', () => {
    expect(rewriteModel(attentionModel({ headDim: 16 }), { target: 'cuda' }).sites[0]!.status).toBe('fused');
    expect(rewriteModel(attentionModel({ headDim: 264 }), { target: 'cuda' }).sites[0]!.reason).toMatch(/head dim 264/);
    expect(rewriteModel(attentionModel({ headDim: 264 }), { target: 'cpu' }).sites[0]!.status).toBe('fused');
  });
});
