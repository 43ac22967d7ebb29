// Proofs about bias and mask tensors: that they broadcast into the scores without enlarging
// them, and (for choosing masked_rows) that a bias can never be -inf.
import { DT, FLOAT_TYPES, dimEq, knownConstant, readTensor, shapeStr, type Dim, type Facts, type Graph } from '../../ir/index.js';

/** Undefined when `value` broadcasts to `scores` ([B,H,Sq,Sk]) without changing it; else why not. */
export function broadcastProblem(facts: Facts, value: string, scores: Dim[]): string | undefined {
  const s = facts.shape(value);
  if (!s) return `the shape of '${value}' is not known`;
  if (s.length > scores.length) return `'${value}' has rank ${s.length}, above the scores' ${scores.length}`;
  const off = scores.length - s.length;
  for (let k = 0; k < s.length; k++) {
    if (s[k] === 1 || dimEq(s[k], scores[k + off])) continue;
    return `'${value}' ${shapeStr(s)} is not proven to broadcast to the scores ${shapeStr(scores)}`;
  }
  return undefined;
}

const SHAPE_ONLY = new Set(['Transpose', 'Unsqueeze', 'Squeeze', 'Reshape', 'Expand', 'Slice', 'Identity', 'Tile', 'Gather', 'GatherElements']);

/** True when every element of `value` is provably finite (constants, and data movement of them). */
export function provenFinite(g: Graph, facts: Facts, value: string, depth = 0): boolean {
  if (depth > 16) return false;
  const c = g.constant(value);
  if (c) return c.data.every((x) => Number.isFinite(x));
  if (g.initializers.has(value)) return false; // too large to check
  const p = g.producerOf(value);
  if (!p || p.domain !== '') return false;
  if (p.op === 'ConstantOfShape') {
    const a = p.attr('value');
    const c = a?.t ? readTensor(a.t) : undefined;
    return !a || (c !== undefined && c.data.every((x) => Number.isFinite(x)));
  }
  if (SHAPE_ONLY.has(p.op)) return provenFinite(g, facts, p.input(0)!, depth + 1);
  if (p.op === 'Cast') {
    // Integers and float32 stay finite in float32; narrowing to float16 can overflow.
    const from = facts.dtype(p.input(0));
    const to = p.int('to', 0);
    if (to !== 1 && to !== 11) return false;
    return from !== undefined && (!FLOAT_TYPES.has(from) ? true : provenFinite(g, facts, p.input(0)!, depth + 1));
  }
  return false;
}

/** Whether x survives a round trip through float16 (or bfloat16) unchanged. */
export function exactIn(dtype: number, x: number): boolean {
  if (x === 0 || !Number.isFinite(x)) return !Number.isNaN(x);
  if (dtype === DT.BFLOAT16) {
    if (Math.fround(x) !== x) return false;
    const bits = new Uint32Array(new Float32Array([x]).buffer)[0]!;
    return (bits & 0xffff) === 0;
  }
  if (dtype !== DT.FLOAT16 || Math.abs(x) > 65504) return false;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  return Number.isInteger(x / 2 ** (e - 10));
}

/**
 * When every value of a float32 bias comes from one small constant through data movement
 * (Slice, Reshape, Gather, ...) and each of that constant's values is exact in `dtype`, a Cast of
 * the bias to `dtype` changes nothing: true then.
 */
export function castsExactly(g: Graph, facts: Facts, value: string, dtype: number, depth = 0): boolean {
  if (depth > 16) return false;
  const c = knownConstant(g, facts, value) ?? g.constant(value);
  if (c) return c.data.every((x) => exactIn(dtype, x));
  const p = g.producerOf(value);
  if (!p || p.domain !== '' || !SHAPE_ONLY.has(p.op)) return false;
  return castsExactly(g, facts, p.input(0)!, dtype, depth + 1);
}
