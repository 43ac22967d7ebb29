// Masks that exclude nothing and zero biases are not passed to the op (its plain path is the fast
// one); key-padding masks from a graph input stay, in their broadcast form, never the Expanded one.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { rewriteModel } from '../../src/rewriter/index.js';
import { Graph, inferFacts, shapeStr } from '../../src/ir/index.js';
import { isAllTrue } from '../../src/rewriter/passes/mask-forms.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, H = 2, S = 5, D = 8;
type Kind = 'expand-true' | 'range-ge' | 'additive-true' | 'zero-bias' | 'padding' | 'padding-additive' | 'one-false' | 'padding-or-false' | 'float-built';

function model(kind: Kind): ModelProto {
  const g = new GraphBuilder(17);
  const [q, k, v] = ['q', 'k', 'v'].map((n) => g.input(n, [B, H, S, D]));
  let scores = g.op('Mul', [g.op('MatMul', [q!, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]), g.floats([1 / Math.sqrt(D)])]);
  const full = g.ints([B, 1, S, S]);
  const yes = () => g.op('Cast', [g.ints([1], [1, 1, 1, 1])], { to: DT.BOOL });
  const padding = () => g.op('Reshape', [g.op('Cast', [g.input('attention_mask', [B, S], DT.INT64)], { to: DT.BOOL }), g.ints([B, 1, 1, S])]);
  const where = (m: string) => g.op('Where', [m, scores, g.floats([-Infinity])]);
  switch (kind) {
    case 'expand-true': scores = where(g.op('Expand', [yes(), full])); break;
    case 'range-ge': {
      // transformers' full mask for encoders: kv_idx >= 0 over Range(0, S, 1).
      const idx = g.op('Unsqueeze', [g.op('Range', [g.ints([0], []), g.ints([S], []), g.ints([1], [])]), g.ints([0, 1, 2])]);
      scores = where(g.op('Expand', [g.op('GreaterOrEqual', [idx, g.ints([0], [])]), full]));
      break;
    }
    case 'additive-true': scores = g.op('Add', [scores, g.op('Where', [g.op('Expand', [yes(), full]), g.floats([0]), g.floats([-Infinity])])]); break;
    case 'zero-bias': {
      const zero = g.op('ConstantOfShape', [g.ints([1, 1, 1, S])]);
      scores = g.op('Add', [scores, g.op('Expand', [zero, full])]);
      break;
    }
    case 'padding': scores = where(g.op('Expand', [g.op('And', [yes(), padding()]), full])); break;
    case 'padding-additive': scores = g.op('Add', [scores, g.op('Where', [g.op('Expand', [g.op('And', [padding(), yes()]), full]), g.floats([0]), g.floats([-3.4028234663852886e38])])]); break;
    case 'one-false': {
      const raw = Array.from({ length: S }, (_, j) => (j === 3 ? 0 : 1));
      scores = where(g.op('Expand', [g.op('Cast', [g.ints(raw, [1, 1, 1, S])], { to: DT.BOOL }), full]));
      break;
    }
    case 'padding-or-false': {
      // A negated (true = masked) padding mask Or'ed with an all-false one.
      const masked = g.op('Or', [g.op('Not', [padding()]), g.op('Cast', [g.ints([0], [1, 1, 1, 1])], { to: DT.BOOL })]);
      scores = g.op('Where', [g.op('Expand', [masked, full]), g.floats([-Infinity]), scores]);
      break;
    }
    case 'float-built': {
      // MPT: causal and padding And'ed, made a float additive mask, then cast back to a bool
      // (true = masked) for masked_fill.
      const idx = g.op('Range', [g.ints([0], []), g.ints([S], []), g.ints([1], [])]);
      const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [idx, g.ints([0, 1, 2])]), g.op('Unsqueeze', [idx, g.ints([0, 1, 3])])]);
      const allowed = g.op('Expand', [g.op('And', [g.op('And', [yes(), causal]), padding()]), full]);
      const additive = g.op('Where', [allowed, g.floats([0]), g.floats([-3.4028234663852886e38])]);
      const masked = g.op('Cast', [g.op('Cast', [additive], { to: DT.BOOL })], { to: DT.BOOL });
      scores = g.op('Where', [masked, g.floats([-3.4028234663852886e38]), scores]);
      break;
    }
  }
  return g.build(g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v!]), 'y', [B, H, S, D]);
}

function feeds(m: ModelProto): Record<string, ort.Tensor> {
  let s = 17;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const out: Record<string, ort.Tensor> = {};
  for (const i of m.graph!.input) {
    const tt = i.type!.value.value as { shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    const n = dims.reduce((a, b) => a * b, 1);
    // Right padding on batch 1: its last two keys are padding.
    if (i.name === 'attention_mask') out[i.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, x) => (x >= S && x % S >= S - 2 ? 0n : 1n)), dims);
    else out[i.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, r), dims);
  }
  return out;
}

/** Rewrites, checks the numbers against the original, and returns the fused node's bias and mask shapes. */
async function fused(kind: Kind): Promise<{ bias?: string; mask?: string; causal?: number | string }> {
  const m = model(kind);
  const { model: out, sites } = rewriteModel(m);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  const f = feeds(m);
  const want = await runOriginal(bytesOf(m), f);
  const got = await runRewritten(out, f);
  expect(relativeMaxError(want.y!, got.y!)).toBeLessThan(1e-5);
  const g = new Graph(out);
  const facts = inferFacts(g);
  const fa = g.nodes.find((n) => n.domain === 'fa_onnx')!;
  const shape = (i: number) => (fa.input(i) ? shapeStr(facts.shape(fa.input(i)!) ?? []) : undefined);
  return { bias: shape(3), mask: shape(4), causal: sites[0]!.attributes?.causal };
}

describe('masks and biases that reach the op', () => {
  it.each(['expand-true', 'range-ge', 'additive-true', 'zero-bias'] as Kind[])('drops a provably trivial mask or bias (%s)', async (kind) => {
    expect(await fused(kind)).toMatchObject({ bias: undefined, mask: undefined });
  });

  it.each(['padding', 'padding-additive', 'padding-or-false'] as Kind[])('keeps a key-padding mask from an input in its [B,1,1,Sk] form (%s)', async (kind) => {
    expect((await fused(kind)).mask).toBe(`[${B},1,1,${S}]`);
  });

  it('finds the causal band inside a mask built as a float and cast back to bool', async () => {
    expect(await fused('float-built')).toEqual({ bias: undefined, mask: `[${B},1,1,${S}]`, causal: 1 });
  });

  it('keeps a constant mask with one excluded key', async () => {
    expect((await fused('one-false')).mask).toBe(`[1,1,1,${S}]`);
  });

  it('gives up on deep branching mask graphs in bounded time (the mask is then kept)', () => {
    const g = new GraphBuilder(17);
    let m = g.op('Cast', [g.ints([1], [1])], { to: DT.BOOL });
    // Where(c, m, m) over an all-true leaf, repeated: a naive proof walks all 2^23 paths. Past
    // the budget the answer is "not proven", which only keeps a mask that could have been dropped.
    for (let i = 0; i < 23; i++) m = g.op('Where', [g.input(`cond${i}`, [1], DT.BOOL), m, m]);
    const graph = new Graph(g.build(m, 'y', [1], DT.BOOL));
    const t0 = performance.now();
    expect(isAllTrue(graph, inferFacts(graph), graph.nodes.at(-1)!.input(0)!)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
