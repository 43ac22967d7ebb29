import { toFloat64 } from './tensors.js';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Default tolerances. An output passes when max |a - b| <= atol + rtol * scale, where scale is the
 * original output's largest magnitude: fp32 outputs to 1e-4 of their scale (a fused kernel sums in
 * another order), fp16/bf16 outputs to 1e-2 (their own rounding is 1e-3 per op).
 */
export function defaultTolerance(type: string): Tolerance {
  return type === 'float16' || type === 'bfloat16' ? { atol: 1e-3, rtol: 1e-2 } : { atol: 1e-6, rtol: 1e-4 };
}

/**
 * The tolerance an output is held to when the caller gave none (or only part). Float32 attention on
 * the CUDA provider reads its inputs at bfloat16 precision (ops/cuda/README.md), so a float32 output
 * of a rewritten model that runs our ops there is held to the bfloat16 tolerance.
 */
export function outputTolerance(type: string, reducedPrecision: boolean, given?: Partial<Tolerance>): Tolerance {
  const base = reducedPrecision && type === 'float32' ? defaultTolerance('bfloat16') : defaultTolerance(type);
  return { ...base, ...stripUndefined(given) };
}

export interface OutputComparison {
  name: string;
  type: string;
  dims: readonly number[];
  maxAbsError: number;
  /** maxAbsError relative to the original output's scale. */
  maxRelError: number;
  scale: number;
  tolerance: Tolerance;
  ok: boolean;
  problem?: string;
}

interface Values { type: string; dims: readonly number[]; data: ArrayLike<number | bigint> }

/** Compares one output; NaN and infinities must sit in the same places in both. */
export function compareOutput(name: string, expected: Values, actual: Values, tol?: Partial<Tolerance>): OutputComparison {
  const tolerance = { ...defaultTolerance(expected.type), ...stripUndefined(tol) };
  const base = { name, type: expected.type, dims: expected.dims, tolerance };
  if (expected.type !== actual.type || expected.dims.join() !== actual.dims.join()) {
    return { ...base, maxAbsError: Infinity, maxRelError: Infinity, scale: 0, ok: false,
      problem: `the rewritten model gives ${actual.type}[${actual.dims.join(',')}], the original ${expected.type}[${expected.dims.join(',')}]` };
  }
  const a = toFloat64(expected);
  const b = toFloat64(actual);
  let scale = 0;
  let maxAbs = 0;
  let nanMismatch = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
    if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) nanMismatch++;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
  }
  if (nanMismatch) maxAbs = Infinity;
  const maxRel = scale > 0 ? maxAbs / scale : maxAbs;
  const ok = maxAbs <= tolerance.atol + tolerance.rtol * scale;
  return { ...base, maxAbsError: maxAbs, maxRelError: maxRel, scale, ok,
    ...(nanMismatch ? { problem: `${nanMismatch} values are NaN or infinite in one model but not the other` } : {}) };
}

function stripUndefined(t?: Partial<Tolerance>): Partial<Tolerance> {
  const out: Partial<Tolerance> = {};
  if (t?.atol !== undefined) out.atol = t.atol;
  if (t?.rtol !== undefined) out.rtol = t.rtol;
  return out;
}
