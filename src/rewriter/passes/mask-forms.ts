// What masks and biases reach the fused node, and in which form. The CUDA kernels' mask and bias
// paths are much slower than the plain path, so a mask that is provably all-true (or a bias that is
// provably all-zero) is not passed at all, and a mask that the graph Expands to the full scores'
// shape is passed in the smaller form it had before (the op broadcasts it the same way).
// Values that depend on run-time inputs (key padding from an attention_mask) always stay.
import { DT, knownConstant, readTensor, type Facts, type Graph } from '../../ir/index.js';

const MAX_DEPTH = 24;
/**
 * Node visits one proof may make: Where and And branch, so a deep chain of them could otherwise
 * take exponential time; past the budget the answer is "not proven" (the tensor is kept).
 */
const BUDGET = 512;
let steps = 0;
const spend = (depth: number) => (depth === 0 ? (steps = BUDGET) : steps--) > 0;
/** Ops that only move or repeat elements: every output element is some input element. */
const MOVES = new Set(['Expand', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Transpose', 'Tile', 'Flatten', 'Slice', 'Gather', 'GatherElements', 'GatherND']);

/** Every element satisfies `pred` (checked on constants; structural rules for the rest). */
function every(g: Graph, facts: Facts, value: string, pred: (x: number) => boolean, depth: number): boolean {
  if (depth > MAX_DEPTH || !spend(depth)) return false;
  const c = knownConstant(g, facts, value) ?? g.constant(value);
  if (c) return c.data.every(pred);
  const p = g.producerOf(value);
  if (!p || p.domain !== '') return false;
  const input = (i: number) => p.input(i);
  if (MOVES.has(p.op)) return every(g, facts, input(0)!, pred, depth + 1);
  switch (p.op) {
    case 'ConstantOfShape': {
      const a = p.attr('value');
      const t = a?.t ? readTensor(a.t) : undefined;
      return a ? t !== undefined && t.data.every(pred) : pred(0);
    }
    case 'Where': {
      const [c0, a, b] = [input(0)!, input(1)!, input(2)!];
      if (every(g, facts, a, pred, depth + 1) && every(g, facts, b, pred, depth + 1)) return true;
      if (isAllTrue(g, facts, c0, depth + 1)) return every(g, facts, a, pred, depth + 1);
      if (isAllFalse(g, facts, c0, depth + 1)) return every(g, facts, b, pred, depth + 1);
      return false;
    }
    default: return false;
  }
}

/** A bool (or numeric, read as bool) tensor that is true everywhere. */
export function isAllTrue(g: Graph, facts: Facts, value: string, depth = 0): boolean {
  if (depth > MAX_DEPTH || !spend(depth)) return false;
  const p = g.producerOf(value);
  if (p && p.domain === '') {
    const [a, b] = [p.input(0), p.input(1)];
    switch (p.op) {
      case 'Cast':
        if (p.int('to', 0) !== DT.BOOL) return false;
        return facts.dtype(a) === DT.BOOL ? isAllTrue(g, facts, a!, depth + 1) : every(g, facts, a!, (x) => x !== 0, depth + 1);
      case 'Not': return isAllFalse(g, facts, a!, depth + 1);
      case 'And': return isAllTrue(g, facts, a!, depth + 1) && isAllTrue(g, facts, b!, depth + 1);
      case 'Or': return isAllTrue(g, facts, a!, depth + 1) || isAllTrue(g, facts, b!, depth + 1);
      case 'GreaterOrEqual': case 'Greater': {
        // index >= 0 (transformers' mask functions write kv_idx >= 0 and the like for a full mask).
        const lo = lowerBound(g, facts, a!, depth + 1), hi = upperBound(g, facts, b!);
        if (lo !== undefined && hi !== undefined && (p.op === 'Greater' ? lo > hi : lo >= hi)) return true;
        break;
      }
    }
  }
  return every(g, facts, value, (x) => x !== 0, depth);
}

/** A tensor that is zero (false) everywhere. */
export function isAllFalse(g: Graph, facts: Facts, value: string, depth = 0): boolean {
  if (depth > MAX_DEPTH || !spend(depth)) return false;
  const p = g.producerOf(value);
  if (p && p.domain === '') {
    const [a, b] = [p.input(0), p.input(1)];
    switch (p.op) {
      case 'Cast': return isAllFalse(g, facts, a!, depth + 1); // zero is zero in every type
      case 'Not': return isAllTrue(g, facts, a!, depth + 1);
      case 'And': return isAllFalse(g, facts, a!, depth + 1) || isAllFalse(g, facts, b!, depth + 1);
      case 'Or': return isAllFalse(g, facts, a!, depth + 1) && isAllFalse(g, facts, b!, depth + 1);
    }
  }
  return every(g, facts, value, (x) => x === 0, depth);
}

/** The smallest value every element is at least: constants, Range with a positive step, moves. */
function lowerBound(g: Graph, facts: Facts, value: string, depth: number): number | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const c = knownConstant(g, facts, value) ?? g.constant(value);
  if (c) return c.data.length ? Math.min(...c.data) : undefined;
  const p = g.producerOf(value);
  if (!p || p.domain !== '') return undefined;
  if (MOVES.has(p.op)) return lowerBound(g, facts, p.input(0)!, depth + 1);
  if (p.op === 'Cast' && p.int('to', 0) !== DT.BOOL) return lowerBound(g, facts, p.input(0)!, depth + 1);
  if (p.op === 'Range') {
    const step = knownConstant(g, facts, p.input(2)) ?? g.constant(p.input(2));
    if (step?.data.length === 1 && step.data[0]! > 0) return lowerBound(g, facts, p.input(0)!, depth + 1);
  }
  return undefined;
}

function upperBound(g: Graph, facts: Facts, value: string): number | undefined {
  const c = knownConstant(g, facts, value) ?? g.constant(value);
  return c?.data.length ? Math.max(...c.data) : undefined;
}

/**
 * The smallest equivalent form of a bool mask (true = attend, or true = masked when `negated`):
 * through Identity and bool-to-bool Casts, the input of an Expand (it broadcasts into the scores as
 * the Expand's output does), and the other side of an And with an all-true side (Or with an
 * all-false side when negated). Undefined when the mask excludes nothing at all.
 */
export function reduceMask(g: Graph, facts: Facts, value: string, negated = false, depth = 0): string | undefined {
  if (negated ? isAllFalse(g, facts, value) : isAllTrue(g, facts, value)) return undefined;
  const p = g.producerOf(value);
  if (!p || p.domain !== '' || depth > MAX_DEPTH) return value;
  const [a, b] = [p.input(0)!, p.input(1)];
  if (p.op === 'Identity' || (p.op === 'Cast' && p.int('to', 0) === DT.BOOL && facts.dtype(a) === DT.BOOL)) return reduceMask(g, facts, a, negated, depth + 1);
  if (p.op === 'Expand' && (facts.rank(a) ?? 0) >= 1) return reduceMask(g, facts, a, negated, depth + 1);
  const neutral = negated ? 'Or' : 'And';
  if (p.op === neutral && b) {
    const trivial = (x: string) => (negated ? isAllFalse(g, facts, x) : isAllTrue(g, facts, x));
    if (trivial(a)) return reduceMask(g, facts, b, negated, depth + 1);
    if (trivial(b)) return reduceMask(g, facts, a, negated, depth + 1);
  }
  return value;
}

/** The smallest equivalent form of an additive bias; undefined when it is all zeros. */
export function reduceBias(g: Graph, facts: Facts, value: string, depth = 0): string | undefined {
  if (isAllFalse(g, facts, value)) return undefined;
  const p = g.producerOf(value);
  if (!p || p.domain !== '' || depth > MAX_DEPTH) return value;
  const [a, b] = [p.input(0)!, p.input(1)];
  if (p.op === 'Identity') return reduceBias(g, facts, a, depth + 1);
  if (p.op === 'Expand' && (facts.rank(a) ?? 0) >= 1) return reduceBias(g, facts, a, depth + 1);
  if (p.op === 'Add' && b && facts.dtype(a) === facts.dtype(b)) {
    if (isAllFalse(g, facts, a)) return reduceBias(g, facts, b, depth + 1);
    if (isAllFalse(g, facts, b)) return reduceBias(g, facts, a, depth + 1);
  }
  return value;
}

/**
 * A boolean mask read in its simplest sense: Not(x) flips it, and Cast-to-bool of
 * Where(c, 0, nonzero) is Not(c) (Where(c, nonzero, 0) is c), the form of masks that were built
 * as a float additive mask first (MPT). The causal split then sees the band inside `c`.
 */
export function maskSense(g: Graph, facts: Facts, cond: string, attendWhen: boolean): { cond: string; attendWhen: boolean } {
  for (let k = 0; k < 8; k++) {
    const p = g.producerOf(cond);
    if (!p || p.domain !== '') break;
    if (p.op === 'Not') { cond = p.input(0)!; attendWhen = !attendWhen; continue; }
    if (p.op !== 'Cast' || p.int('to', 0) !== DT.BOOL) break;
    if (facts.dtype(p.input(0)) === DT.BOOL) { cond = p.input(0)!; continue; }
    const w = g.producerOf(p.input(0));
    if (!w || w.domain !== '' || w.op !== 'Where' || facts.dtype(w.input(0)) !== DT.BOOL) break;
    const [c, a, b] = [w.input(0)!, w.input(1)!, w.input(2)!];
    const zero = (x: string) => isAllFalse(g, facts, x);
    const nonzero = (x: string) => every(g, facts, x, (v) => v !== 0, 0);
    if (zero(a) && nonzero(b)) { cond = c; attendWhen = !attendWhen; continue; }
    if (nonzero(a) && zero(b)) { cond = c; continue; }
    break;
  }
  return { cond, attendWhen };
}
