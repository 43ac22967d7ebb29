// Float64 reference for the fa_onnx ops (ops/README.md, "Scores, step by step"), one sequence at a time,
// plus the number formats the ops take (float16, bfloat16, float8 e4m3fn) and a seeded generator.

export type MaskedRows = 'zero' | 'uniform' | 'nan';

/** One sequence of one batch item: accessors give float64 values of the (already rounded) inputs. */
export interface SequenceProblem {
  Hq: number;
  Hk: number;
  D: number;
  Dv: number;
  sq: number;
  sk: number;
  q: (h: number, i: number, d: number) => number;
  k: (hk: number, j: number, d: number) => number;
  v: (hk: number, j: number, c: number) => number;
  scale?: number; // default 1/sqrt(D)
  softcap?: number;
  causal?: boolean;
  windowLeft?: number;
  windowRight?: number;
  bottomRight?: boolean;
  maskedRows?: MaskedRows;
  bias?: (h: number, i: number, j: number) => number;
  mask?: (h: number, i: number, j: number) => boolean;
  keyLength?: number;
  alibiSlope?: (h: number) => number;
}

export interface SequenceResult {
  /** [Hq][sq][Dv] */
  out: Float64Array;
  /** [Hq][sq]: natural log of the softmax denominator, -inf for a fully masked row. */
  lse: Float64Array;
}

export function attendSequence(p: SequenceProblem): SequenceResult {
  const { Hq, Hk, D, Dv, sq, sk } = p;
  const scale = p.scale ?? 1 / Math.sqrt(D);
  const group = Hq / Hk;
  const offset = p.bottomRight ? sk - sq : 0;
  const wl = p.windowLeft ?? -1;
  const wr = p.causal ? 0 : (p.windowRight ?? -1);
  const valid = Math.min(sk, p.keyLength ?? sk);
  const out = new Float64Array(Hq * sq * Dv);
  const lse = new Float64Array(Hq * sq);
  // Keys and values as dense float64 matrices per kv head, so the loops below run on plain arrays.
  const K = Array.from({ length: Hk }, (_, hk) => {
    const m = new Float64Array(sk * D);
    for (let j = 0; j < sk; j++) for (let d = 0; d < D; d++) m[j * D + d] = p.k(hk, j, d);
    return m;
  });
  const V = Array.from({ length: Hk }, (_, hk) => {
    const m = new Float64Array(sk * Dv);
    for (let j = 0; j < sk; j++) for (let c = 0; c < Dv; c++) m[j * Dv + c] = p.v(hk, j, c);
    return m;
  });
  const s = new Float64Array(sk);
  const take = new Uint8Array(sk);
  const qrow = new Float64Array(D);
  const acc = new Float64Array(Dv);
  for (let h = 0; h < Hq; h++) {
    const hk = Math.floor(h / group);
    const Kh = K[hk]!;
    const Vh = V[hk]!;
    for (let i = 0; i < sq; i++) {
      const pos = i + offset;
      for (let d = 0; d < D; d++) qrow[d] = p.q(h, i, d);
      let max = -Infinity;
      for (let j = 0; j < sk; j++) {
        let x = 0;
        for (let d = 0; d < D; d++) x += qrow[d]! * Kh[j * D + d]!;
        x *= scale;
        if (p.softcap && p.softcap > 0) x = p.softcap * Math.tanh(x / p.softcap);
        if (p.bias) x += p.bias(h, i, j);
        if (p.alibiSlope) x += -p.alibiSlope(h) * Math.abs(pos - j);
        let ok = j < valid && x !== -Infinity;
        if (p.mask && !p.mask(h, i, j)) ok = false;
        if (wl >= 0 && j < pos - wl) ok = false;
        if (wr >= 0 && j > pos + wr) ok = false;
        take[j] = ok ? 1 : 0;
        s[j] = x;
        if (ok && x > max) max = x;
      }
      const row = (h * sq + i) * Dv;
      if (max === -Infinity) {
        lse[h * sq + i] = -Infinity;
        const mode = p.maskedRows ?? 'zero';
        for (let c = 0; c < Dv; c++) {
          if (mode === 'zero') out[row + c] = 0;
          else if (mode === 'nan') out[row + c] = NaN;
          else {
            let a = 0;
            for (let j = 0; j < sk; j++) a += Vh[j * Dv + c]!;
            out[row + c] = sk > 0 ? a / sk : 0;
          }
        }
        continue;
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j < sk; j++) {
        if (!take[j]) continue;
        const e = Math.exp(s[j]! - max);
        sum += e;
        for (let c = 0; c < Dv; c++) acc[c] = acc[c]! + e * Vh[j * Dv + c]!;
      }
      lse[h * sq + i] = max + Math.log(sum);
      for (let c = 0; c < Dv; c++) out[row + c] = acc[c]! / sum;
    }
  }
  return { out, lse };
}

// ---- number formats ----------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  const sign = (u >>> 16) & 0x8000;
  const abs = u & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00; // rounds to >= 65536
  if (abs < 0x38800000) {
    // subnormal: multiples of 2^-24, round half to even
    const v = Math.abs(x) / 2 ** -24;
    let m = Math.floor(v);
    const frac = v - m;
    if (frac > 0.5 || (frac === 0.5 && m % 2 === 1)) m++;
    return sign | m;
  }
  const odd = (abs >>> 13) & 1;
  return sign | ((abs + 0xfff + odd - (112 << 23)) >>> 13);
}

export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function floatToBf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToFloat(b: number): number {
  u32[0] = (b << 16) >>> 0;
  return f32[0]!;
}

export function fp8e4m3BitsToFloat(x: number): number {
  const sign = x & 0x80 ? -1 : 1;
  const e = (x >>> 3) & 0xf;
  const m = x & 7;
  if (e === 15 && m === 7) return NaN;
  if (e === 0) return sign * (m / 8) * 2 ** -6;
  return sign * (1 + m / 8) * 2 ** (e - 7);
}

export type FloatType = 'float32' | 'float16' | 'bfloat16';

/** The value x becomes when stored as `t`. */
export function roundTo(t: FloatType, x: number): number {
  if (t === 'float32') return Math.fround(x);
  if (t === 'float16') return halfBitsToFloat(floatToHalfBits(x));
  return bf16BitsToFloat(floatToBf16Bits(x));
}

// ---- random numbers ------------------------------------------------------------------------------------

/** A small seeded generator (mulberry32) so a failing case can be replayed from its seed. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

export function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0;
}

/** Relative L2 error of `got` against `want` over the indices `keep` says to compare. */
export function relativeL2(got: ArrayLike<number>, want: ArrayLike<number>, keep?: (i: number) => boolean): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    if (keep && !keep(i)) continue;
    const g = got[i]!;
    const w = want[i]!;
    if (!Number.isFinite(g)) return Infinity; // NaN never passes
    num += (g - w) ** 2;
    den += w * w;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
