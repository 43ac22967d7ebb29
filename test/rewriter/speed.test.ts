// The rewriter is linear in the graph: a 32-layer decoder (GQA, rotary-style Q/K products,
// run-time head reshapes, a shared causal mask) rewrites in well under a second.
import { describe, expect, it } from 'vitest';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT } from './graph-builder.js';

const LAYERS = 32, HIDDEN = 256, H = 8, HK = 2, D = 32;

export function decoder() {
  const g = new GraphBuilder(17);
  let x = g.input('x', ['batch', 'seq', HIDDEN]);
  const mask = g.input('mask', ['batch', 1, 'seq', 'seq'], DT.BOOL);
  const rot = g.input('rot', [1, 1, 'seq', D]);
  const weight = (n: number) => g.floats(new Array(HIDDEN * n).fill(0.01), [HIDDEN, n]);
  for (let l = 0; l < LAYERS; l++) {
    const shape = g.op('Shape', [x]);
    const dim = (i: number) => g.op('Unsqueeze', [g.op('Gather', [shape, g.ints([i], [])]), g.ints([0])]);
    const heads = (t: string, n: number) =>
      g.op('Transpose', [g.op('Reshape', [t, g.op('Concat', [dim(0), dim(1), g.ints([n]), g.ints([D])], { axis: 0 })])], { perm: [0, 2, 1, 3] });
    const q = g.op('Add', [g.op('Mul', [heads(g.op('MatMul', [x, weight(H * D)]), H), rot]), heads(g.op('MatMul', [x, weight(H * D)]), H)]);
    const repeat = (t: string) => g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, g.ints([2])]),
      g.op('Concat', [dim(0), g.ints([HK, H / HK]), dim(1), g.ints([D])], { axis: 0 })]), g.op('Concat', [dim(0), g.ints([H]), dim(1), g.ints([D])], { axis: 0 })]);
    const k = repeat(g.op('Mul', [heads(g.op('MatMul', [x, weight(HK * D)]), HK), rot]));
    const v = repeat(heads(g.op('MatMul', [x, weight(HK * D)]), HK));
    const s = g.op('Where', [mask, g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.floats([1 / Math.sqrt(D)])]), g.floats([-Infinity])]);
    const o = g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.op('Concat', [dim(0), dim(1), g.ints([H * D])], { axis: 0 })]);
    x = g.op('Add', [x, g.op('MatMul', [merged, g.floats(new Array(H * D * HIDDEN).fill(0.01), [H * D, HIDDEN])])]);
  }
  return g.build(x, 'y', ['batch', 'seq', HIDDEN]);
}

describe('speed', () => {
  it(`rewrites a ${LAYERS}-layer decoder in well under a second`, () => {
    const model = decoder();
    const nodes = model.graph!.node.length;
    rewriteModel(model); // warm up the JIT
    const t0 = performance.now();
    const { sites } = rewriteModel(model);
    const ms = performance.now() - t0;
    console.log(`rewrite: ${LAYERS} layers, ${nodes} nodes, ${ms.toFixed(1)} ms`);
    expect(sites.filter((s) => s.status === 'fused')).toHaveLength(LAYERS);
    expect(sites.every((s) => s.attributes?.kv_num_heads === HK)).toBe(true);
    expect(ms).toBeLessThan(500);
  });
});
