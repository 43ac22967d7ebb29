// Shape, type and value inference on the idioms exporters write.
import { describe, expect, it } from 'vitest';
import { Graph, dimDiv, dimMul, inferFacts, knownConstant } from '../../src/ir/index.js';
import { GraphBuilder, DT } from '../rewriter/graph-builder.js';

describe('dims', () => {
  it('multiplies and divides symbolic monomials exactly', () => {
    expect(dimMul('batch', 4)).toBe('4*batch');
    expect(dimMul(dimMul('seq', 'batch'), 2)).toBe('2*batch*seq');
    expect(dimDiv(dimMul('batch', 64), 16)).toBe('4*batch');
    expect(dimDiv(dimMul('batch', 64), 'batch')).toBe(64);
    expect(dimDiv('batch', 'seq')).toBeUndefined();
    expect(dimDiv(10, 4)).toBeUndefined();
  });
});

function factsOf(g: GraphBuilder, out: string) {
  const model = g.build(out);
  const graph = new Graph(model);
  return { graph, facts: inferFacts(graph) };
}

describe('inference', () => {
  it('proves a run-time head split: Shape -> Gather -> Concat -> Reshape with -1', () => {
    const g = new GraphBuilder(17);
    const x = g.input('x', ['batch', 'seq', 64]);
    const shape = g.op('Shape', [x]);
    const b = g.op('Unsqueeze', [g.op('Gather', [shape, g.ints([0], [])]), g.ints([0])]);
    const s = g.op('Unsqueeze', [g.op('Gather', [shape, g.ints([1], [])]), g.ints([0])]);
    const target = g.op('Concat', [b, s, g.ints([-1]), g.ints([16])], { axis: 0 });
    const y = g.op('Reshape', [x, target]);
    const { facts } = factsOf(g, y);
    expect(facts.get(target)?.value).toEqual(['batch', 'seq', -1, 16]);
    expect(facts.shape(y)).toEqual(['batch', 'seq', 4, 16]);
  });

  it('folds the Where(Equal(shape, -1), 1, shape) idiom into a proven Expand shape', () => {
    const g = new GraphBuilder(17);
    const m = g.input('m', ['batch', 'seq'], DT.BOOL);
    const x = g.input('x', ['batch', 'seq']);
    const sh = g.op('Shape', [x]);
    const target = g.op('Concat', [g.op('Slice', [sh, g.ints([0]), g.ints([1])]), g.ints([-1]), g.op('Slice', [sh, g.ints([1]), g.ints([2])]), g.op('Slice', [sh, g.ints([1]), g.ints([2])])], { axis: 0 });
    const ones = g.op('ConstantOfShape', [g.op('Shape', [target])], { value: { int64Tensor: [1] } });
    const fixed = g.op('Where', [g.op('Equal', [target, g.op('Mul', [ones, g.ints([-1], [])])]), ones, target]);
    const y = g.op('Expand', [g.op('Unsqueeze', [m, g.ints([1, 2])]), fixed]);
    const { facts } = factsOf(g, y);
    expect(facts.get(fixed)?.value).toEqual(['batch', 1, 'seq', 'seq']);
    expect(facts.shape(y)).toEqual(['batch', 1, 'seq', 'seq']);
    expect(facts.dtype(y)).toBe(DT.BOOL);
  });

  it('infers MatMul, Transpose, Einsum and Softmax shapes', () => {
    const g = new GraphBuilder(17);
    const q = g.input('q', ['b', 4, 's', 16]);
    const k = g.input('k', ['b', 4, 't', 16]);
    const kt = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const s1 = g.op('MatMul', [q, kt]);
    const s2 = g.op('Einsum', [q, k], { equation: 'bhqd,bhkd->bhqk' });
    const p = g.op('Softmax', [s1], { axis: -1 });
    const { facts } = factsOf(g, p);
    expect(facts.shape(kt)).toEqual(['b', 4, 16, 't']);
    expect(facts.shape(s1)).toEqual(['b', 4, 's', 't']);
    expect(facts.shape(s2)).toEqual(['b', 4, 's', 't']);
    expect(facts.shape(p)).toEqual(['b', 4, 's', 't']);
  });

  it('folds a scale computed from a static head size', () => {
    const g = new GraphBuilder(17);
    const q = g.input('q', [1, 2, 3, 16]);
    const d = g.op('Cast', [g.op('Slice', [g.op('Shape', [q]), g.ints([3]), g.ints([4])])], { to: DT.FLOAT });
    const scale = g.op('Div', [g.floats([1], [1]), g.op('Sqrt', [d])]);
    const { graph, facts } = factsOf(g, scale);
    expect(knownConstant(graph, facts, scale)).toEqual({ dtype: DT.FLOAT, dims: [1], data: [0.25] });
  });

  it('gives unknown dims fresh symbols that equal nothing else', () => {
    const g = new GraphBuilder(17);
    const x = g.input('x', ['b', 8]);
    const y = g.op('NonZero', [x]);
    const z = g.op('Reshape', [x, g.op('Shape', [y])]);
    const { facts } = factsOf(g, z);
    expect(facts.shape(y)).toBeUndefined();
    expect(facts.shape(z)).toBeUndefined();
  });
});
