// The declarative matcher: ops, variables bound once, constants, commutative and optional nodes.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/ir/index.js';
import { constant, match, op, v } from '../../src/rewriter/pattern.js';
import { GraphBuilder } from './graph-builder.js';

function graphOf(build: (g: GraphBuilder) => string): { g: Graph; out: string } {
  const b = new GraphBuilder(17);
  const out = build(b);
  const g = new Graph(b.build(out));
  return { g, out };
}

describe('pattern matching', () => {
  it('binds variables and constants, and matches a commutative op in either order', () => {
    const pattern = op('Mul', v('x'), constant('c', (c) => c.data.length === 1)).commute();
    const a = graphOf((g) => g.op('Mul', [g.input('x', [2]), g.floats([0.5])]));
    const b = graphOf((g) => g.op('Mul', [g.floats([0.5]), g.input('x', [2])]));
    for (const { g, out } of [a, b]) {
      const m = match(g, pattern, out)!;
      expect(m.values.get('x')).toBe('x');
      expect(m.consts.get('c')!.data).toEqual([0.5]);
    }
    const notCommuted = op('Mul', v('x'), constant('c'));
    expect(match(b.g, notCommuted, b.out)).toBeUndefined();
  });

  it('requires a variable used twice to be the same value (the NaN guard shape)', () => {
    const guard = op('Where', op('IsNaN', v('p')), constant('zero'), v('p'));
    const same = graphOf((g) => { const p = g.input('p', [2]); return g.op('Where', [g.op('IsNaN', [p]), g.floats([0]), p]); });
    const other = graphOf((g) => { const p = g.input('p', [2]); return g.op('Where', [g.op('IsNaN', [p]), g.floats([0]), g.input('q', [2])]); });
    expect(match(same.g, guard, same.out)?.values.get('p')).toBe('p');
    expect(match(other.g, guard, other.out)).toBeUndefined();
  });

  it('lets an optional node be present or absent', () => {
    const pattern = op('Softmax', op('Cast', v('x')).optional());
    const withCast = graphOf((g) => g.op('Softmax', [g.op('Cast', [g.input('x', [2])], { to: 1 })]));
    const without = graphOf((g) => g.op('Softmax', [g.input('x', [2])]));
    expect(match(withCast.g, pattern, withCast.out)!.matched.map((n) => n.op)).toEqual(['Softmax', 'Cast']);
    expect(match(without.g, pattern, without.out)!.matched.map((n) => n.op)).toEqual(['Softmax']);
  });

  it('checks attributes with where()', () => {
    const lastAxis = op('Softmax', v('x')).where((n) => n.int('axis', -1) === -1);
    const ok = graphOf((g) => g.op('Softmax', [g.input('x', [2, 2])], { axis: -1 }));
    const wrong = graphOf((g) => g.op('Softmax', [g.input('x', [2, 2])], { axis: 0 }));
    expect(match(ok.g, lastAxis, ok.out)).toBeDefined();
    expect(match(wrong.g, lastAxis, wrong.out)).toBeUndefined();
  });
});
