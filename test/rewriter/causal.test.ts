// Causal masks and windows recognised inside boolean masks; anything else stays a mask tensor.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, H = 2, D = 4;
type Band = { kind: 'range'; upperOffset?: number; window?: number } | { kind: 'constant'; table: number[][] };

/** Softmax(q·kᵀ/2 masked by band ∧ key padding)·v with q [B,H,Sq,D], k and v [B,H,Sk,D]. */
function maskedAttention(sq: number, sk: number, band: Band, padding = true) {
  const g = new GraphBuilder(17);
  const q = g.input('q', [B, H, sq, D]), k = g.input('k', [B, H, sk, D]), v = g.input('v', [B, H, sk, D]);
  let cond: string;
  if (band.kind === 'range') {
    const len = (x: string) => g.op('Gather', [g.op('Shape', [x]), g.ints([2], [])]);
    const i = g.op('Unsqueeze', [g.op('Range', [g.ints([0], []), len(q), g.ints([1], [])]), g.ints([0, 1, 3])]);
    const j = g.op('Unsqueeze', [g.op('Range', [g.ints([0], []), len(k), g.ints([1], [])]), g.ints([0, 1, 2])]);
    const shifted = band.upperOffset ? g.op('Add', [i, g.ints([band.upperOffset], [])]) : i;
    cond = g.op('LessOrEqual', [j, shifted]);
    if (band.window) cond = g.op('And', [cond, g.op('Greater', [j, g.op('Sub', [i, g.ints([band.window], [])])])]);
  } else {
    cond = g.op('Cast', [g.ints(band.table.flat(), [sq, sk])], { to: DT.BOOL });
  }
  if (padding) cond = g.op('And', [cond, g.input('pad', [B, 1, 1, sk], DT.BOOL)]);
  const scores = g.op('Where', [cond, g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.floats([0.5])]), g.floats([-Infinity])]);
  const sm = g.op('Softmax', [scores], { axis: -1 });
  const p = g.op('Where', [g.op('IsNaN', [sm]), g.floats([0]), sm]);
  return g.build(g.op('MatMul', [p, v]), 'y', [B, H, sq, D]);
}

async function check(model: ReturnType<typeof maskedAttention>) {
  const { model: out, sites } = rewriteModel(model);
  const feeds: Record<string, ort.Tensor> = {};
  let s = 5;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (const i of model.graph!.input) {
    const tt = i.type!.value.value as { elemType: number; shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    const n = dims.reduce((a, b) => a * b, 1);
    // Key padding: batch 1 drops its first key (left padding: its first query row is fully masked).
    feeds[i.name] = tt.elemType === DT.BOOL ? new ort.Tensor('bool', Uint8Array.from({ length: n }, (_, j) => (j === n / 2 ? 0 : 1)), dims)
      : new ort.Tensor('float32', Float32Array.from({ length: n }, r), dims);
  }
  const want = await runOriginal(bytesOf(model), feeds);
  const got = await runRewritten(out, feeds);
  expect(relativeMaxError(want.y!, got.y!)).toBeLessThan(1e-5);
  return sites[0]!;
}

const tri = (sq: number, sk: number, u: number) => Array.from({ length: sq }, (_, i) => Array.from({ length: sk }, (_, j) => (j - i <= u ? 1 : 0)));

describe('causal masks', () => {
  it('turns Range/LessOrEqual causal masks into causal=1 and keeps the padding mask', async () => {
    const site = await check(maskedAttention(5, 5, { kind: 'range' }));
    expect(site.attributes).toMatchObject({ causal: 1, masked_rows: 'zero' });
    expect(site.attributes!.mask_alignment).toBeUndefined();
    const { model } = rewriteModel(maskedAttention(5, 5, { kind: 'range' }));
    const fa = model.graph!.node.find((n) => n.opType === 'FlashAttention')!;
    expect(fa.input[4]).toBe('pad');
    expect(model.graph!.node.some((n) => ['Range', 'LessOrEqual'].includes(n.opType))).toBe(false);
  });

  it('aligns to the bottom right when the band follows the last query', async () => {
    const site = await check(maskedAttention(3, 5, { kind: 'range', upperOffset: 2 }));
    expect(site.attributes).toMatchObject({ causal: 1, mask_alignment: 'bottom_right' });
  });

  it('turns a lower bound into window_left', async () => {
    const site = await check(maskedAttention(6, 6, { kind: 'range', window: 3 }));
    expect(site.attributes).toMatchObject({ causal: 1, window_left: 2 });
  });

  it('recognises a constant lower-triangular mask', async () => {
    const site = await check(maskedAttention(4, 4, { kind: 'constant', table: tri(4, 4, 0) }, false));
    expect(site.attributes).toMatchObject({ causal: 1 });
    const { model } = rewriteModel(maskedAttention(4, 4, { kind: 'constant', table: tri(4, 4, 0) }, false));
    expect(model.graph!.node.find((n) => n.opType === 'FlashAttention')!.input.length).toBe(3);
  });

  it('recognises a constant sliding-window band', async () => {
    const table = tri(6, 6, 0).map((row, i) => row.map((x, j) => (j < i - 2 ? 0 : x)));
    const site = await check(maskedAttention(6, 6, { kind: 'constant', table }, false));
    expect(site.attributes).toMatchObject({ causal: 1, window_left: 2 });
  });

  it.each<[string, number, number, Band]>([
    ['a band one key past the diagonal', 5, 5, { kind: 'range', upperOffset: 1 }],
    ['a constant mask that is not triangular', 4, 4, { kind: 'constant', table: [[1, 0, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]] }],
    ['a constant band one key past the diagonal', 4, 4, { kind: 'constant', table: tri(4, 4, 1) }],
  ])('keeps %s as a mask tensor (no causal attribute), still exact', async (_n, sq, sk, band) => {
    const site = await check(maskedAttention(sq, sk, band));
    expect(site.status).toBe('fused');
    expect(site.attributes!.causal).toBeUndefined();
  });
});
