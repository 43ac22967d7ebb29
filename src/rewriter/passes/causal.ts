// Recognising causal masks and windows inside a boolean mask, so they become the op's `causal`,
// `mask_alignment` and `window_left` attributes instead of a materialised tensor. A mask is split
// into And-ed terms; a term is a band when it compares affine functions of the query index i and
// the key index j (Range/Unsqueeze/Add/Sub/Mul arithmetic, as exporters build it), or when it is a
// constant equal to such a band. Whatever is not a band stays a mask tensor.
import { DT, dimEq, knownConstant, lowestFinite, type Dim, type Facts, type Graph, type Node } from '../../ir/index.js';
import { broadcastProblem } from './masks.js';

/** value(x) = c + Σ coef[k]·x[k] over the tensor's axes (integer index arithmetic). */
interface Affine { c: number; coef: number[] }

const MAX_DEPTH = 24;

function affine(g: Graph, facts: Facts, value: string, depth = 0): Affine | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const k = knownConstant(g, facts, value);
  if (k && k.data.length === 1) return { c: k.data[0]!, coef: k.dims.map(() => 0) };
  const p = g.producerOf(value);
  if (!p || p.domain !== '') return undefined;
  const rec = (x: string | undefined) => (x ? affine(g, facts, x, depth + 1) : undefined);
  switch (p.op) {
    case 'Range': {
      const [s, l, d] = [knownConstant(g, facts, p.input(0)), p.input(1), knownConstant(g, facts, p.input(2))];
      if (!s || !d || !l || s.data.length !== 1 || d.data.length !== 1) return undefined;
      return { c: s.data[0]!, coef: [d.data[0]!] };
    }
    case 'Identity': case 'Cast': {
      if (p.op === 'Cast' && [DT.FLOAT16, DT.BFLOAT16, DT.BOOL].includes(p.int('to', 0))) return undefined;
      return rec(p.input(0));
    }
    case 'Unsqueeze': {
      const a = rec(p.input(0));
      const outRank = facts.rank(p.outputs[0]);
      if (!a || outRank === undefined) return undefined;
      const axesC = p.ints('axes') ?? knownConstant(g, facts, p.input(1))?.data;
      if (!axesC) return undefined;
      const axes = new Set(axesC.map((x) => (x < 0 ? x + outRank : x)));
      const coef: number[] = [];
      let j = 0;
      for (let i = 0; i < outRank; i++) coef.push(axes.has(i) ? 0 : a.coef[j++]!);
      return { c: a.c, coef };
    }
    case 'Expand': {
      // Broadcasting repeats values: the function of the index is unchanged.
      const a = rec(p.input(0));
      const outRank = facts.rank(p.outputs[0]);
      if (!a || outRank === undefined || outRank < a.coef.length) return undefined;
      return { c: a.c, coef: [...new Array(outRank - a.coef.length).fill(0), ...a.coef] };
    }
    case 'Add': case 'Sub': case 'Mul': {
      const [a, b] = [rec(p.input(0)), rec(p.input(1))];
      if (!a || !b) return undefined;
      const rank = Math.max(a.coef.length, b.coef.length);
      const pad = (x: Affine) => [...new Array(rank - x.coef.length).fill(0), ...x.coef];
      const [ac, bc] = [pad(a), pad(b)];
      if (p.op === 'Mul') {
        const scalarA = ac.every((x) => x === 0), scalarB = bc.every((x) => x === 0);
        if (!scalarA && !scalarB) return undefined;
        const [s, v] = scalarA ? [a.c, { c: b.c, coef: bc }] : [b.c, { c: a.c, coef: ac }];
        return { c: s * v.c, coef: v.coef.map((x) => s * x) };
      }
      const sign = p.op === 'Add' ? 1 : -1;
      return { c: a.c + sign * b.c, coef: ac.map((x, i) => x + sign * bc[i]!) };
    }
    default: return undefined;
  }
}

/** Key j is allowed when lower ≤ j - i ≤ upper (either bound may be absent). */
interface Band { upper?: number; lower?: number }

const COMPARE = new Set(['Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']);

/** A comparison of index expressions as a band on j - i, with i on axis -2 and j on axis -1. */
function comparisonBand(g: Graph, facts: Facts, n: Node): Band | undefined {
  const [a, b] = [affine(g, facts, n.input(0)!), affine(g, facts, n.input(1)!)];
  if (!a || !b) return undefined;
  // Normalise to d ≤ t with d = x - y over integers.
  const [x, y, t] = n.op === 'LessOrEqual' ? [a, b, 0] : n.op === 'Less' ? [a, b, -1] : n.op === 'GreaterOrEqual' ? [b, a, 0] : [b, a, -1];
  const rank = Math.max(x.coef.length, y.coef.length);
  const at = (f: Affine, k: number) => f.coef[f.coef.length - rank + k] ?? 0;
  const d = Array.from({ length: rank }, (_, k) => at(x, k) - at(y, k));
  if (rank < 2 || d.slice(0, rank - 2).some((v) => v !== 0)) return undefined;
  const ci = d[rank - 2]!, cj = d[rank - 1]!;
  const c = x.c - y.c;
  // c + ci·i + cj·j ≤ t
  if (cj === 1 && ci === -1) return { upper: t - c };      // j - i ≤ t - c
  if (cj === -1 && ci === 1) return { lower: c - t };      // j - i ≥ c - t
  return undefined;
}

/**
 * A constant [.., Sq, Sk] mask equal, in every leading slice, to the band j - i ≤ u for one u:
 * boolean (true = attend), or additive float (0 = attend, `fill` = excluded).
 */
function constantBand(g: Graph, facts: Facts, value: string, fill?: number): Band | undefined {
  const k = knownConstant(g, facts, value) ?? g.constant(value);
  if (!k || k.dims.length < 2) return undefined;
  if (fill === undefined ? k.dtype !== DT.BOOL : k.dtype === DT.BOOL) return undefined;
  const attends = (x: number) => (fill === undefined ? x === 1 : x === 0);
  const excluded = (x: number) => (fill === undefined ? x === 0 : x === fill);
  const [sq, sk] = k.dims.slice(-2) as [number, number];
  if (sq < 1 || sk < 1) return undefined;
  // Row 0 of the first slice allows j ≤ u; the last row's first allowed key gives the lower bound
  // (a window); when it is key 0 the window does not bind and there is no lower bound.
  let u = -1;
  while (u + 1 < sk && attends(k.data[u + 1]!)) u++;
  const last = (sq - 1) * sk;
  let first = 0;
  while (first < sk && !attends(k.data[last + first]!)) first++;
  const l = first > 0 ? first - (sq - 1) : undefined;
  for (let base = 0; base < k.data.length; base += sq * sk) {
    for (let i = 0; i < sq; i++) {
      for (let j = 0; j < sk; j++) {
        const x = k.data[base + i * sk + j]!;
        const inside = j - i <= u && (l === undefined || j - i >= l);
        if (!(inside ? attends(x) : excluded(x))) return undefined;
      }
    }
  }
  return { upper: u, lower: l };
}

/**
 * An additive constant bias that is only a causal band (0 inside, `fill` outside, `fill` -inf or
 * the dtype's lowest): the attributes that replace it. Only when no query row is left without
 * keys, so the original's fully-masked-row value never arises.
 */
export function constantBiasBand(g: Graph, facts: Facts, bias: string, scores: Dim[]): Record<string, number | string> | undefined {
  const k = knownConstant(g, facts, bias) ?? g.constant(bias);
  if (!k || k.dtype === DT.BOOL || broadcastProblem(facts, bias, scores)) return undefined;
  const [sq, sk] = [scores[scores.length - 2], scores[scores.length - 1]];
  if (typeof sq !== 'number' || typeof sk !== 'number' || sq > sk || k.dims.at(-2) !== sq || k.dims.at(-1) !== sk) return undefined;
  const fill = Math.min(...k.data);
  if (!(fill === -Infinity || fill <= lowestFinite(k.dtype))) return undefined;
  const band = constantBand(g, facts, bias, fill);
  if (!band) return undefined;
  const offset = band.upper === 0 ? 0 : band.upper === sk - sq ? sk - sq : undefined;
  if (offset === undefined) return undefined;
  const attrs: Record<string, number | string> = { causal: 1 };
  if (offset) attrs.mask_alignment = 'bottom_right';
  if (band.lower !== undefined) {
    if (offset - band.lower < 0) return undefined;
    attrs.window_left = offset - band.lower;
  }
  return attrs;
}

function isAllTrue(g: Graph, facts: Facts, value: string): boolean {
  const k = knownConstant(g, facts, value);
  if (k) return k.dtype === DT.BOOL && k.data.every((x) => x === 1);
  const p = g.producerOf(value);
  if (p?.op !== 'ConstantOfShape' || p.domain !== '') return false;
  const t = p.attr('value')?.t;
  return !!t && t.dataType === DT.BOOL && (t.rawData[0] === 1 || t.int32Data[0] === 1);
}

export interface MaskSplit {
  attributes: Record<string, number | string>;
  /** The mask terms that remain tensors (true = attend), each proven to broadcast. */
  rest: string[];
  nodes: Node[];
}

/**
 * Splits a boolean mask (true = attend) into the op's causal/window attributes and leftover
 * tensors; undefined when nothing structural was found or a band cannot be expressed.
 */
export function splitMask(g: Graph, facts: Facts, cond: string, scores: Dim[]): MaskSplit | undefined {
  const bands: Band[] = [];
  const rest: string[] = [];
  const nodes: Node[] = [];
  // A band term must vary along i and j exactly as the scores do: its last two dims are Sq and Sk.
  const spansScores = (v: string) => {
    const s = facts.shape(v);
    return !!s && s.length >= 2 && dimEq(s[s.length - 2], scores[scores.length - 2]) && dimEq(s[s.length - 1], scores[scores.length - 1]);
  };
  const visit = (v: string, depth: number): boolean => {
    if (depth > 16) return false;
    if (isAllTrue(g, facts, v)) return true;
    const p = g.producerOf(v);
    if (p && p.domain === '') {
      if (p.op === 'And') { nodes.push(p); return visit(p.input(0)!, depth + 1) && visit(p.input(1)!, depth + 1); }
      if (p.op === 'Expand' || (p.op === 'Cast' && facts.dtype(p.input(0)) === DT.BOOL) || p.op === 'Identity') { nodes.push(p); return visit(p.input(0)!, depth + 1); }
    }
    // Every leaf broadcasts into the scores; bands also span both index axes.
    if (broadcastProblem(facts, v, scores)) return false;
    if (spansScores(v)) {
      const band = p && p.domain === '' && COMPARE.has(p.op) ? comparisonBand(g, facts, p) : constantBand(g, facts, v);
      if (band) { bands.push(band); if (p) nodes.push(p); return true; }
    }
    rest.push(v);
    return true;
  };
  if (!visit(cond, 0) || bands.length === 0) return undefined;
  const uppers = bands.flatMap((b) => (b.upper !== undefined ? [b.upper] : []));
  const lowers = bands.flatMap((b) => (b.lower !== undefined ? [b.lower] : []));
  if (uppers.length > 1 || lowers.length > 1) return undefined;
  const [sq, sk] = [scores[scores.length - 2]!, scores[scores.length - 1]!];
  const offset = typeof sq === 'number' && typeof sk === 'number' ? sk - sq : dimEq(sq, sk) ? 0 : undefined;
  if (offset === undefined) return undefined;
  const attributes: Record<string, number | string> = {};
  const u = uppers[0], l = lowers[0];
  // Prefer top-left (offset 0); bottom-right when the band follows the last query.
  let alignOffset = 0;
  if (u !== undefined) {
    if (u === 0) attributes.causal = 1;
    else if (u === offset) { attributes.causal = 1; attributes.mask_alignment = 'bottom_right'; alignOffset = offset; }
    else return undefined;
  }
  if (l !== undefined) {
    const left = alignOffset - l;
    if (left < 0) return undefined;
    attributes.window_left = left;
  }
  return { attributes, rest, nodes };
}
