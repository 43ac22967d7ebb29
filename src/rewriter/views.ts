// Head split/merge and GQA repeat_kv as pure data movement: we label the axes of a candidate
// source tensor with "atoms" (B batch, S sequence, H heads, D head dim, R a broadcast repeat),
// replay the Transpose/Reshape/Unsqueeze/Squeeze/Expand chain on the labels, and accept the source
// when the replay ends in exactly the layout attention reads. Scalar Mul/Div on the way are scales.
import { DT, dimDiv, dimEq, dimProduct, knownConstant, uniformValue, type Dim, type Facts, type Graph, type Node } from '../ir/index.js';

export interface Atom { id: 'B' | 'S' | 'H' | 'D' | 'R'; size: Dim }
export type Layout = Atom[][];
export type Form = 'packed' | 'BSHD' | 'BHSD';

/** One usable source for q, k or v: the tensor, its form, and what it takes to reach the use. */
export interface Operand {
  value: string;
  form: Form;
  heads: number;
  headDim: Dim;
  /** Product of the scalar multipliers between the source and the use. */
  scale: number;
  /** Nodes between the source and the use (they die when the use is replaced). */
  through: Node[];
}

const VIEW_OPS = new Set(['Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'Expand', 'Identity', 'Mul', 'Div', 'Cast']);

/** A Cast that widens float16/bfloat16 to float32: exact, and the op accumulates in float32 anyway. */
function isWideningCast(facts: Facts, n: Node): boolean {
  const from = facts.dtype(n.input(0));
  return n.op === 'Cast' && n.int('to', 0) === DT.FLOAT && (from === DT.FLOAT16 || from === DT.BFLOAT16);
}
const MAX_CHAIN = 16;

/** The scalar a Mul/Div node multiplies its other input by, when one input is a scalar constant. */
export function scalarFactor(g: Graph, facts: Facts, n: Node, through: string): number | undefined {
  if (n.op !== 'Mul' && n.op !== 'Div') return undefined;
  const other = n.input(0) === through ? n.input(1) : n.input(0);
  if (n.op === 'Div' && n.input(0) !== through) return undefined;
  const c = knownConstant(g, facts, other);
  if (!c) return undefined;
  // A constant of rank <= the tensor's and all dims 1 cannot change the shape.
  const rank = facts.rank(through);
  if (c.dims.some((d) => d !== 1) || rank === undefined || c.dims.length > rank) return undefined;
  const x = uniformValue(c);
  if (x === undefined || !Number.isFinite(x) || x === 0) return undefined;
  return n.op === 'Mul' ? x : 1 / x;
}

/** Nodes from the farthest view-op ancestor down to `value` (each consumes the previous output). */
function viewChain(g: Graph, facts: Facts, value: string): Node[] {
  const chain: Node[] = [];
  let cur = value;
  while (chain.length < MAX_CHAIN) {
    const p = g.producerOf(cur);
    if (!p || !VIEW_OPS.has(p.op) || p.domain !== '') break;
    if (p.op === 'Cast' && !isWideningCast(facts, p)) break;
    if (p.op === 'Mul' || p.op === 'Div') {
      // The chain goes on through the side that is not the scalar.
      const via = [p.input(0), p.input(1)].find((x) => x && scalarFactor(g, facts, p, x) !== undefined);
      if (!via) break;
      chain.unshift(p);
      cur = via;
      continue;
    }
    chain.unshift(p);
    cur = p.input(0)!;
  }
  return chain;
}

function chainInput(g: Graph, facts: Facts, n: Node): string {
  if (n.op === 'Mul' || n.op === 'Div') return [n.input(0), n.input(1)].find((x) => x && scalarFactor(g, facts, n, x) !== undefined)!;
  return n.input(0)!;
}

/** Replays one view op on a labelled layout; undefined when the op does not move whole atoms. */
function replay(g: Graph, facts: Facts, n: Node, layout: Layout): Layout | undefined {
  const outShape = facts.shape(n.outputs[0]);
  switch (n.op) {
    case 'Identity': case 'Mul': case 'Div': case 'Cast': return layout;
    case 'Transpose': {
      const perm = n.ints('perm') ?? layout.map((_, i) => layout.length - 1 - i);
      return perm.length === layout.length ? perm.map((p) => layout[p]!) : undefined;
    }
    case 'Unsqueeze': case 'Squeeze': case 'Reshape': {
      if (!outShape) return undefined;
      return regroup(layout, outShape);
    }
    case 'Expand': {
      if (!outShape || outShape.length < layout.length) return undefined;
      const lead = outShape.length - layout.length;
      const out: Layout = [];
      for (let k = 0; k < outShape.length; k++) {
        const axis = k < lead ? [] : layout[k - lead]!;
        const have = dimProduct(axis.map((a) => a.size));
        const want = outShape[k]!;
        if (dimEq(have, want)) out.push(axis);
        else if (have === 1) out.push([{ id: 'R', size: want }]);
        else return undefined;
      }
      return out;
    }
    default: return undefined;
  }
}

/** Groups the atoms, in order, into axes of the given sizes; size-1 atoms may go anywhere. */
function regroup(layout: Layout, shape: Dim[]): Layout | undefined {
  const atoms = layout.flat().filter((a) => a.size !== 1);
  const out: Layout = [];
  let i = 0;
  for (const want of shape) {
    const axis: Atom[] = [];
    let have: Dim = 1;
    while (!dimEq(have, want)) {
      const a = atoms[i++];
      if (!a) return undefined;
      axis.push(a);
      have = dimProduct(axis.map((x) => x.size));
      // Overshooting means an atom would have to be split.
      if (typeof have === 'number' && typeof want === 'number' && have > want) return undefined;
    }
    out.push(axis);
  }
  return i === atoms.length ? out : undefined;
}

function ids(axis: Atom[]): string { return axis.filter((a) => a.size !== 1).map((a) => a.id).join(''); }

/** What the use needs: per axis, the atom ids (size-1 atoms ignored), e.g. ['B','HR','S','D']. */
export type Want = 'q' | 'kt' | 'kv';
function fits(layout: Layout, want: Want, sizes: Record<string, Dim>, merged: boolean): boolean {
  // Rank 4 reads [B,H,S,D] ([B,H,D,S] for kt); rank 3 reads batch and heads merged, [B·H,S,D].
  const w4 = want === 'kt' ? ['B', 'H', 'D', 'S'] : ['B', 'H', 'S', 'D'];
  const w = merged ? ['BH', ...w4.slice(2)] : w4;
  if (layout.length !== w.length) return false;
  const expect = (exp: string) => [...exp].filter((id) => sizes[id] !== 1).join('');
  return layout.every((axis, k) => {
    const got = ids(axis);
    const exp = w[k]!;
    // GQA repeat_kv: kv heads outer, repeats inner (query head h reads kv head h / R).
    if (exp === 'H' && want !== 'q' && (got === 'HR' || (got === 'R' && sizes.H === 1))) return true;
    return got === expect(exp);
  });
}

function seeds(shape: Dim[], headDim: Dim): { form: Form; layout: Layout; heads?: Dim }[] {
  const [a, b, c, d] = shape;
  if (shape.length === 4) {
    return [
      { form: 'BHSD', layout: [[{ id: 'B', size: a! }], [{ id: 'H', size: b! }], [{ id: 'S', size: c! }], [{ id: 'D', size: d! }]], heads: b },
      { form: 'BSHD', layout: [[{ id: 'B', size: a! }], [{ id: 'S', size: b! }], [{ id: 'H', size: c! }], [{ id: 'D', size: d! }]], heads: c },
    ];
  }
  if (shape.length === 3) {
    const h = dimDiv(c!, headDim);
    if (h === undefined) return [];
    return [{ form: 'packed', layout: [[{ id: 'B', size: a! }], [{ id: 'S', size: b! }], [{ id: 'H', size: h }, { id: 'D', size: headDim }]], heads: h }];
  }
  return [];
}

/**
 * Every source of `value` (itself included) that attention can read directly, with its form.
 * `want` says how the use reads it: q and kv as [B,H,S,D], kt (the K of Q·Kᵀ) as [B,H,D,S].
 */
export function operandSources(g: Graph, facts: Facts, value: string, want: Want, mergedHeads?: number): Operand[] {
  const finalShape = facts.shape(value);
  const merged = mergedHeads !== undefined;
  if (!finalShape || finalShape.length !== (merged ? 3 : 4)) return [];
  const r = finalShape.length;
  const headDim = want === 'kt' ? finalShape[r - 2]! : finalShape[r - 1]!;
  const seqLen = want === 'kt' ? finalShape[r - 1]! : finalShape[r - 2]!;
  const batch = merged ? dimDiv(finalShape[0]!, mergedHeads) : finalShape[0]!;
  if (batch === undefined) return [];
  const chain = viewChain(g, facts, value);
  const found: Operand[] = [];
  for (let start = 0; start <= chain.length; start++) {
    const src = start < chain.length ? chainInput(g, facts, chain[start]!) : value;
    const shape = facts.shape(src);
    if (!shape) continue;
    for (const seed of seeds(shape, headDim)) {
      let layout: Layout | undefined = seed.layout;
      let scale = 1;
      for (let k = start; k < chain.length && layout; k++) {
        const n = chain[k]!;
        if (n.op === 'Mul' || n.op === 'Div') scale *= scalarFactor(g, facts, n, chainInput(g, facts, n))!;
        layout = replay(g, facts, n, layout);
      }
      if (!layout || typeof seed.heads !== 'number') continue;
      if (merged && seed.heads !== mergedHeads) continue;
      if (!fits(layout, want, { B: batch, S: seqLen, D: headDim, H: seed.heads }, merged)) continue;
      found.push({ value: src, form: seed.form, heads: seed.heads, headDim, scale, through: chain.slice(start) });
    }
  }
  return found;
}

/**
 * Where the attention result [B,H,S,Dv] can be delivered: itself, or a later packed/BSHD view.
 * Shape nodes reading the way there may be moved to `shapeDonor`, a value of the same shape
 * (exporters read the result's shape to build the merge Reshape).
 */
export interface Delivery { value: string; form: Form; through: Node[]; shapeReads: { node: Node; from: string; donor: string }[] }
export function outputTargets(g: Graph, facts: Facts, value: string, heads: number, shapeDonors: string[] = []): Delivery[] {
  const shape = facts.shape(value);
  if (!shape || (shape.length !== 4 && shape.length !== 3)) return [];
  // A rank-3 result [B·H, S, Dv] (batched matmuls) is no form of the op: only its views are.
  const merged = shape.length === 3;
  const batch = merged ? dimDiv(shape[0]!, heads) : shape[0]!;
  if (batch === undefined) return [];
  const out: Delivery[] = merged ? [] : [{ value, form: 'BHSD', through: [], shapeReads: [] }];
  const shapeReads: { node: Node; from: string; donor: string }[] = [];
  const donorFor = (v: string) => {
    const b = facts.shape(v);
    return shapeDonors.find((x) => { const a = facts.shape(x); return !!a && !!b && a.length === b.length && a.every((d, k) => dimEq(d, b[k])); });
  };
  const [s, d] = shape.slice(-2) as [Dim, Dim];
  let layout: Layout | undefined = merged
    ? [[{ id: 'B', size: batch }, { id: 'H', size: heads }], [{ id: 'S', size: s }], [{ id: 'D', size: d }]]
    : [[{ id: 'B', size: batch }], [{ id: 'H', size: heads }], [{ id: 'S', size: s }], [{ id: 'D', size: d }]];
  let cur = value;
  const through: Node[] = [];
  for (let k = 0; k < MAX_CHAIN && layout; k++) {
    let uses = g.usesOf(cur);
    if (g.isGraphOutput(cur) || g.subgraphUses.has(cur)) break;
    const shapes = uses.filter((u) => u.op === 'Shape' && u.domain === '');
    const donor = shapes.length ? donorFor(cur) : undefined;
    if (donor) { shapeReads.push(...shapes.map((node) => ({ node, from: cur, donor }))); uses = uses.filter((u) => !shapes.includes(u)); }
    if (uses.length !== 1) break;
    const n = uses[0]!;
    if (n.domain !== '' || !['Transpose', 'Reshape', 'Identity'].includes(n.op) || n.input(0) !== cur) break;
    layout = replay(g, facts, n, layout);
    if (!layout) break;
    through.push(n);
    cur = n.outputs[0]!;
    const sig = layout.map(ids).join(',');
    const one = (id: string) => (layout!.flat().some((a) => a.id === id) ? id : '');
    if (sig === [one('B'), one('S'), one('H') + 'D'].join(',')) out.push({ value: cur, form: 'packed', through: [...through], shapeReads: [...shapeReads] });
    else if (merged && sig === [one('B'), one('H'), 'S', 'D'].join(',')) out.push({ value: cur, form: 'BHSD', through: [...through], shapeReads: [...shapeReads] });
    else if (sig === [one('B'), one('S'), one('H'), 'D'].join(',')) out.push({ value: cur, form: 'BSHD', through: [...through], shapeReads: [...shapeReads] });
  }
  return out;
}
