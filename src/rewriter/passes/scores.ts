// Reading what happens to the scores between Q·Kᵀ and Softmax: scaling, softcap, additive biases
// and masks. The op computes, in this order, scale·(q·k), softcap, + bias, exclusion; a graph that
// applies them in another order (a bias before the scale, ...) is not rewritten.
import { DT, FLOAT_TYPES, dimEq, dimMul, knownConstant, lowestFinite, readTensor, type Dim, uniformValue, type Facts, type Graph, type Node } from '../../ir/index.js';
import { constant, match, op, v } from '../pattern.js';
import { scalarFactor } from '../views.js';

/** A boolean mask: the key takes part where `cond` equals `attendWhen`; elsewhere it gets `fill`. */
export interface MaskTerm {
  cond: string;
  attendWhen: boolean;
  /** The score an excluded key gets (-Infinity, or a large finite negative such as finfo.min). */
  fill: number;
  /** Added as Where(cond, 0, fill) rather than replacing scores through Where(cond, scores, fill). */
  additive: boolean;
  /** For additive masks: the value added (the Where output), usable as a plain bias instead. */
  biasValue?: string;
}

export interface ScoreChain {
  qk: Node;
  scale: number;
  softcap: number;
  biases: string[];
  masks: MaskTerm[];
  nodes: Node[];
  /** Batched matmuls: Q·Kᵀ is [B·H, Sq, Sk] and a Reshape splits it into [B, H, Sq, Sk] with this H. */
  mergedHeads?: number;
  /** Biases added to the [B·H, Sq, Sk] scores, before that Reshape. */
  biases3: string[];
}

const isScalar = (c: { dims: number[] }) => c.dims.every((d) => d === 1);
const scalarZero = constant('zero', (c) => isScalar(c) && uniformValue(c) === 0);
const scalarFill = constant('fill', (c) => isScalar(c) && uniformValue(c) !== undefined);

/** softcap · tanh(x / softcap), written with Div or with Mul by the reciprocal. */
const softcapDiv = op('Mul', op('Tanh', op('Div', v('x'), constant('inner', isScalar))), constant('outer', isScalar)).commute();
const softcapMul = op('Mul', op('Tanh', op('Mul', v('x'), constant('inner', isScalar)).commute()), constant('outer', isScalar)).commute();
/** Where(cond, 0, fill) and Where(cond, fill, 0): masks written as an additive tensor. */
const additiveMask = op('Where', v('cond'), scalarZero, scalarFill);
const additiveMaskInverted = op('Where', v('cond'), scalarFill, scalarZero);

/** Whether `fill` excludes a key as surely as the original graph does: -inf, or the dtype's lowest. */
function isExcluding(fill: number, dtype: number | undefined): boolean {
  return fill === -Infinity || (dtype !== undefined && fill <= lowestFinite(dtype));
}

type Phase = 0 | 1 | 2; // 0: masks/biases, 1: after softcap, 2: after scale (walking upwards)

export function readScoreChain(g: Graph, facts: Facts, softmaxInput: string): ScoreChain | string {
  return walk(g, facts, softmaxInput, 0, { scale: 1, softcap: 0, biases: [], masks: [], nodes: [], biases3: [] });
}

type Acc = Omit<ScoreChain, 'qk'>;
const clone = (a: Acc): Acc => ({ ...a, biases: [...a.biases], masks: [...a.masks], nodes: [...a.nodes], biases3: [...a.biases3] });

function walk(g: Graph, facts: Facts, cur: string, phase: Phase, acc: Acc): ScoreChain | string {
  const known = (x: string | undefined) => knownConstant(g, facts, x);
  const p = g.producerOf(cur);
  if (!p) return `the scores come from '${cur}', not from a Q·Kᵀ product`;
  if (acc.nodes.length > 24) return 'too many operations between Q·Kᵀ and Softmax';
  if (p.domain !== '') return `unsupported ${p.domain}.${p.op} between Q·Kᵀ and Softmax`;
  const next = clone(acc);
  next.nodes.push(p);
  switch (p.op) {
    case 'MatMul': return { ...next, qk: p };
    case 'Einsum': return p.inputs.length === 2 ? { ...next, qk: p } : 'Einsum with more than two inputs';
    case 'Identity': return walk(g, facts, p.input(0)!, phase, next);
    case 'Reshape': {
      // [B·H, Sq, Sk] -> [B, H, Sq, Sk]: scores of batched 3-D matmuls (BLOOM, DeBERTa).
      const [from, to] = [facts.shape(p.input(0)), facts.shape(cur)];
      if (acc.mergedHeads !== undefined) return 'two Reshapes on the scores';
      if (!from || !to || from.length !== 3 || to.length !== 4 || typeof to[1] !== 'number' ||
          !dimEq(dimMul(to[0]!, to[1]), from[0]) || !dimEq(to[2], from[1]) || !dimEq(to[3], from[2])) {
        return 'a Reshape on the scores that is not a split of batch·heads';
      }
      next.mergedHeads = to[1];
      return walk(g, facts, p.input(0)!, phase, next);
    }
    case 'Cast': {
      const from = facts.dtype(p.input(0));
      if (!FLOAT_TYPES.has(p.int('to', 0)) || from === undefined || !FLOAT_TYPES.has(from)) return 'a Cast to or from a non-float type on the scores';
      return walk(g, facts, p.input(0)!, phase, next);
    }
    case 'Mul': case 'Div': {
      const viaDiv = match(g, softcapDiv, cur, known);
      const cap = viaDiv ?? match(g, softcapMul, cur, known);
      if (cap && p.op === 'Mul') {
        const outer = uniformValue(cap.consts.get('outer')!)!;
        const innerRaw = uniformValue(cap.consts.get('inner')!)!;
        const innerCap = viaDiv ? innerRaw : 1 / innerRaw;
        if (!(outer > 0) || Math.abs(innerCap - outer) > 1e-6 * outer) return `a Tanh softcap whose inner (${innerCap}) and outer (${outer}) caps differ`;
        if (phase === 2) return 'a scale applied after the softcap';
        if (acc.softcap) return 'two softcaps';
        next.softcap = outer;
        next.nodes.push(...cap.matched.filter((n) => n !== p));
        return walk(g, facts, cap.values.get('x')!, 1, next);
      }
      const side = [p.input(0), p.input(1)].find((x) => x && scalarFactor(g, facts, p, x) !== undefined);
      if (!side) return `a ${p.op} by a non-constant or non-scalar tensor on the scores`;
      const f = scalarFactor(g, facts, p, side)!;
      // Walking up, masks and the softcap were seen first: they come after this scale, the op's order.
      if (f !== 1) next.scale *= f;
      return walk(g, facts, side, f === 1 ? phase : 2, next);
    }
    case 'Add': {
      // Adding zeros (an absent mask written out) changes nothing, wherever it is.
      for (const [chain, other] of [[p.input(0)!, p.input(1)!], [p.input(1)!, p.input(0)!]] as const) {
        if (isZeroTensor(g, facts, other) && sameShape(facts.shape(chain), facts.shape(cur))) return walk(g, facts, chain, phase, next);
      }
      if (phase !== 0) return 'a bias added before the scale or softcap';
      let reason = '';
      if (acc.mergedHeads !== undefined) {
        for (const [chain, other] of [[p.input(0)!, p.input(1)!], [p.input(1)!, p.input(0)!]] as const) {
          const dt = facts.dtype(other);
          if (dt !== undefined && !FLOAT_TYPES.has(dt)) continue;
          const withTerm = clone(next);
          withTerm.biases3.push(other);
          const r = walk(g, facts, chain, 0, withTerm);
          if (typeof r !== 'string') return r;
          reason ||= r;
        }
        return reason || 'a non-float tensor added to the scores';
      }
      for (const [chain, other] of [[p.input(0)!, p.input(1)!], [p.input(1)!, p.input(0)!]] as const) {
        const withTerm = clone(next);
        const dt = facts.dtype(other);
        if (dt !== undefined && !FLOAT_TYPES.has(dt)) { reason = 'a non-float tensor added to the scores'; continue; }
        // A sum of terms (T5: position bias + mask) is split into its terms: masks among them are read as masks.
        for (const term of addTerms(g, facts, other, facts.shape(cur))) {
          const mask = additiveMaskOf(g, facts, term);
          if (mask) {
            withTerm.masks.push(mask.term);
            withTerm.nodes.push(...mask.nodes);
            if (mask.bias && !isZeroTensor(g, facts, mask.bias)) withTerm.biases.push(mask.bias);
          } else withTerm.biases.push(term);
        }
        const r = walk(g, facts, chain, 0, withTerm);
        if (typeof r !== 'string') return r;
        reason ||= r;
      }
      return reason;
    }
    case 'Where': {
      if (phase !== 0) return 'a mask applied before the scale or softcap';
      if (acc.mergedHeads !== undefined) return 'a Where mask on [B·H, Sq, Sk] scores';
      const [cond, a, b] = [p.input(0)!, p.input(1)!, p.input(2)!];
      const dtype = facts.dtype(p.outputs[0]);
      for (const [chain, fillV, attendWhen] of [[a, b, true], [b, a, false]] as const) {
        const c = known(fillV);
        const fill = c && isScalar(c) ? uniformValue(c) : undefined;
        if (fill === undefined) continue;
        // A replacing fill only needs to be far below every real score: masked keys then get
        // exp(fill - max) = 0, and a fully masked row is uniform. float16 exports keep float16's
        // lowest (-65504) on float32 scores (MPT); scores 65400 below their row's maximum do not occur.
        if (!isExcluding(fill, dtype) && !(fill <= -65504)) return `a Where that fills masked scores with ${fill}, not -inf or a value far below any score`;
        next.masks.push({ cond, attendWhen, fill, additive: false });
        return walk(g, facts, chain, 0, next);
      }
      return 'a Where on the scores whose fill value is not a scalar constant';
    }
    default:
      return `unsupported ${p.op} between Q·Kᵀ and Softmax`;
  }
}

function sameShape(a: Dim[] | undefined, b: Dim[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, k) => dimEq(d, b[k]));
}

/** All elements zero: a zero constant, or ConstantOfShape of 0, possibly through Identity/Cast. */
function isZeroTensor(g: Graph, facts: Facts, value: string, depth = 0): boolean {
  const c = knownConstant(g, facts, value);
  if (c) return c.data.length > 0 && c.data.every((x) => x === 0);
  const p = g.producerOf(value);
  if (!p || p.domain !== '' || depth > 6) return false;
  if (p.op === 'ConstantOfShape') {
    const a = p.attr('value');
    const t = a?.t ? readTensor(a.t) : undefined;
    return !a || (t !== undefined && t.data.every((x) => x === 0));
  }
  if (p.op === 'Identity' || p.op === 'Cast' || p.op === 'CastLike') return isZeroTensor(g, facts, p.input(0)!, depth + 1);
  return false;
}

/** Follows float-to-float Casts and Identities upwards; the dtypes cast to, innermost first. */
function throughCasts(g: Graph, facts: Facts, value: string): { source: string; casts: number[] } {
  const casts: number[] = [];
  let cur = value;
  for (let k = 0; k < 4; k++) {
    const p = g.producerOf(cur);
    if (!p || p.domain !== '' || !(p.op === 'Identity' || (p.op === 'Cast' && FLOAT_TYPES.has(p.int('to', 0)) && FLOAT_TYPES.has(facts.dtype(p.input(0)) ?? -1)))) break;
    if (p.op === 'Cast') casts.unshift(p.int('to', 0));
    cur = p.input(0)!;
  }
  return { source: cur, casts };
}

/** A value after a Cast to a narrower float type: what overflows becomes -inf/+inf. */
function castValue(x: number, to: number): number {
  const max = to === DT.FLOAT16 ? 65504 : to === DT.BFLOAT16 ? 3.3895313892515355e38 : to === DT.FLOAT ? 3.4028234663852886e38 : Infinity;
  // Round-to-nearest overflows past the largest finite value plus half an ulp.
  const limit = to === DT.FLOAT16 ? 65520 : to === DT.BFLOAT16 ? 3.3961775292304266e38 : to === DT.FLOAT ? 3.4028235677973366e38 : Infinity;
  if (Math.abs(x) >= limit) return x < 0 ? -Infinity : Infinity;
  return Math.abs(x) > max ? Math.sign(x) * max : x;
}

/** A bias masked in place: Where(cond, bias, fill) (T5's masked position bias). */
const maskedBias = op('Where', v('cond'), v('x'), scalarFill);
const maskedBiasInverted = op('Where', v('cond'), scalarFill, v('x'));

/**
 * The additive mask Where(cond, 0, fill) (or inverted) behind `value`, through Casts, with a
 * sure-exclusion fill; or Where(cond, bias, fill), read as that mask plus the bias.
 */
export function additiveMaskOf(g: Graph, facts: Facts, value: string): { term: MaskTerm; nodes: Node[]; bias?: string } | undefined {
  const known = (x: string | undefined) => knownConstant(g, facts, x);
  // The additive mask may reach the scores through Casts (a float32 mask in a float16 model).
  const { source, casts } = throughCasts(g, facts, value);
  const m = match(g, additiveMask, source, known);
  const mm = m ?? match(g, additiveMaskInverted, source, known);
  if (mm) {
    const fill = casts.reduce((f, to) => castValue(f, to), uniformValue(mm.consts.get('fill')!)!);
    if (!isExcluding(fill, facts.dtype(value))) return undefined;
    return { term: { cond: mm.values.get('cond')!, attendWhen: !!m, fill, additive: true, biasValue: value }, nodes: mm.matched };
  }
  // Only without Casts: the bias keeps the scores' dtype.
  if (casts.length) return undefined;
  const b = match(g, maskedBias, source, known);
  const bm = b ?? match(g, maskedBiasInverted, source, known);
  if (!bm) return undefined;
  const fill = uniformValue(bm.consts.get('fill')!)!;
  const x = bm.values.get('x')!;
  if (!isExcluding(fill, facts.dtype(value)) || facts.dtype(x) !== facts.dtype(value)) return undefined;
  // Masked keys get bias + fill in the original: fill itself when it is -inf or the lowest value
  // (the bias is far smaller), so the key is excluded as surely as by the plain mask.
  return { term: { cond: bm.values.get('cond')!, attendWhen: !!b, fill, additive: false }, nodes: bm.matched, bias: x };
}

/**
 * The terms of a sum added to the scores: Add(a, b) is split while both sides are float tensors
 * that broadcast into the scores without enlarging them (reassociating the sum is exact up to
 * float rounding, and a -inf or finfo.min term keeps its effect).
 */
function addTerms(g: Graph, facts: Facts, value: string, scores: Dim[] | undefined, depth = 0): string[] {
  const p = g.producerOf(value);
  if (!p || p.op !== 'Add' || p.domain !== '' || depth > 4 || !scores) return [value];
  const [a, b] = [p.input(0)!, p.input(1)!];
  const fits = (x: string) => {
    const s = facts.shape(x);
    const dt = facts.dtype(x);
    return !!s && dt !== undefined && FLOAT_TYPES.has(dt) && s.length <= scores.length &&
      s.every((d, k) => d === 1 || dimEq(d, scores[scores.length - s.length + k]));
  };
  if (!fits(a) || !fits(b)) return [value];
  return [...addTerms(g, facts, a, scores, depth + 1), ...addTerms(g, facts, b, scores, depth + 1)];
}
