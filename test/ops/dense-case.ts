// One FlashAttention / FlashAttentionFp8 case: random inputs, a session run with poisoned outputs,
// and the float64 reference, compared per the contract's bounds.
import { Tensor } from 'onnxruntime-common';

import { type ElemName, type IoSpec, type AttrValue, makeTensor, poisoned, readFloats, runOnce, singleNodeModel } from './harness.js';
import { type FloatType, type MaskedRows, Rng, attendSequence, fp8e4m3BitsToFloat, freshSeed, relativeL2, roundTo } from './reference.js';

export type Layout = 'BSHD' | 'BHSD';

export interface DenseCase {
  dtype: FloatType | 'fp8';
  B: number;
  Sq: number;
  Sk: number;
  Hq: number;
  Hk: number;
  D: number;
  Dv?: number;
  layout?: Layout;
  qPacked?: boolean; // rank 3 [B, S, H*D]
  kvPacked?: boolean;
  causal?: boolean;
  windowLeft?: number;
  windowRight?: number;
  bottomRight?: boolean;
  softcap?: number;
  scale?: number;
  maskedRows?: MaskedRows;
  bias?: number[]; // shape, broadcast to [B, Hq, Sq, Sk]
  mask?: { dims: number[]; keep: number; emptyRows?: boolean };
  keyLengths?: number[];
  alibi?: 'heads' | 'batch';
  lse?: boolean;
  descale?: 'scalar' | 'per-head'; // fp8 only
  /** Test of the test: attributes the reference alone sees (it must then disagree with the op). */
  referenceOverrides?: Partial<Pick<DenseCase, 'causal' | 'softcap' | 'scale' | 'maskedRows' | 'bottomRight'>>;
}

/** Canonical [B][H][S][D] -> the tensor's memory order for its form. */
export function pack(c: Float64Array, B: number, H: number, S: number, D: number, bhsd: boolean): Float64Array {
  if (bhsd) return c;
  const out = new Float64Array(c.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < S; i++)
        for (let d = 0; d < D; d++) out[((b * S + i) * H + h) * D + d] = c[((b * H + h) * S + i) * D + d]!;
  return out;
}

export function unpack(t: Float64Array, B: number, H: number, S: number, D: number, bhsd: boolean): Float64Array {
  if (bhsd) return t;
  const out = new Float64Array(t.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < S; i++)
        for (let d = 0; d < D; d++) out[((b * H + h) * S + i) * D + d] = t[((b * S + i) * H + h) * D + d]!;
  return out;
}

export function dims(B: number, H: number, S: number, D: number, packed: boolean, bhsd: boolean): number[] {
  if (packed) return [B, S, H * D];
  return bhsd ? [B, H, S, D] : [B, S, H, D];
}

export function randomValues(rng: Rng, n: number, round: (x: number) => number, sd = 1): Float64Array {
  return Float64Array.from({ length: n }, () => round(rng.normal() * sd));
}

/** Strides (elements) of a broadcast tensor of shape `shape` viewed as [B, Hq, Sq, Sk]. */
function broadcastIndex(shape: number[], target: number[]): (b: number, h: number, i: number, j: number) => number {
  const full = [...Array(4 - shape.length).fill(1), ...shape];
  const strides = [0, 0, 0, 0];
  let s = 1;
  for (let a = 3; a >= 0; a--) {
    strides[a] = full[a] === 1 && target[a] !== 1 ? 0 : s;
    s *= full[a]!;
  }
  return (b, h, i, j) => b * strides[0]! + h * strides[1]! + i * strides[2]! + j * strides[3]!;
}

export interface CaseOutcome {
  seed: number;
  error: number; // relative L2 of the output over rows not expected to be NaN
  lseError: number;
  nanRowsOk: boolean; // rows expected NaN are NaN
  lseMaskedOk: boolean; // fully masked rows have lse -inf
  maskedRows: number;
}

export async function runDenseCase(c: DenseCase, seed = freshSeed()): Promise<CaseOutcome> {
  const rng = new Rng(seed);
  const { B, Sq, Sk, Hq, Hk, D } = c;
  const Dv = c.Dv ?? D;
  const bhsd = c.layout === 'BHSD';
  const fp8 = c.dtype === 'fp8';
  const ioType: ElemName = fp8 ? 'float8e4m3fn' : c.dtype === 'fp8' ? 'float32' : (c.dtype as ElemName);
  const outType: FloatType = fp8 ? 'bfloat16' : (c.dtype as FloatType);
  const round = (x: number) => roundTo(fp8 ? 'float32' : (c.dtype as FloatType), x);

  // Inputs (canonical [B][H][S][D]); FP8 inputs are random codes, the reference sees their values.
  let qv: Float64Array, kv: Float64Array, vv: Float64Array;
  let qBits: Float64Array | undefined, kBits: Float64Array | undefined, vBits: Float64Array | undefined;
  const fp8Code = () => {
    let x = rng.int(256);
    while ((x & 0x7f) === 0x7f || (x & 0x78) > 0x50) x = rng.int(256); // no NaN, |x| <= 8
    return x;
  };
  if (fp8) {
    qBits = Float64Array.from({ length: B * Hq * Sq * D }, fp8Code);
    kBits = Float64Array.from({ length: B * Hk * Sk * D }, fp8Code);
    vBits = Float64Array.from({ length: B * Hk * Sk * Dv }, fp8Code);
    qv = qBits.map(fp8e4m3BitsToFloat);
    kv = kBits.map(fp8e4m3BitsToFloat);
    vv = vBits.map(fp8e4m3BitsToFloat);
  } else {
    qv = randomValues(rng, B * Hq * Sq * D, round);
    kv = randomValues(rng, B * Hk * Sk * D, round);
    vv = randomValues(rng, B * Hk * Sk * Dv, round);
  }
  const qDims = dims(B, Hq, Sq, D, !!c.qPacked, bhsd);
  const kDims = dims(B, Hk, Sk, D, !!c.kvPacked, bhsd);
  const vDims = dims(B, Hk, Sk, Dv, !!c.kvPacked, bhsd);
  const oDims = dims(B, Hq, Sq, Dv, !!c.qPacked, bhsd);
  const qBhsd = bhsd && !c.qPacked;
  const kvBhsd = bhsd && !c.kvPacked;
  const feeds: Record<string, Tensor> = {
    query: makeTensor(ioType, pack(fp8 ? qBits! : qv, B, Hq, Sq, D, qBhsd), qDims),
    key: makeTensor(ioType, pack(fp8 ? kBits! : kv, B, Hk, Sk, D, kvBhsd), kDims),
    value: makeTensor(ioType, pack(fp8 ? vBits! : vv, B, Hk, Sk, Dv, kvBhsd), vDims),
  };
  const inputs: Array<IoSpec | null> = [
    { name: 'query', type: ioType, dims: qDims },
    { name: 'key', type: ioType, dims: kDims },
    { name: 'value', type: ioType, dims: vDims },
  ];

  // Optional inputs.
  const target = [B, Hq, Sq, Sk];
  let bias: ((b: number, h: number, i: number, j: number) => number) | undefined;
  let mask: ((b: number, h: number, i: number, j: number) => boolean) | undefined;
  let descale: { q: Float64Array; k: Float64Array; v: Float64Array; at: (b: number, hk: number) => number } | undefined;
  if (fp8) {
    const shape = c.descale === 'per-head' ? [B, Hk] : [];
    const n = c.descale === 'per-head' ? B * Hk : 1;
    const mk = () => Float64Array.from({ length: n }, () => Math.fround(0.25 + rng.uniform()));
    descale = { q: mk(), k: mk(), v: mk(), at: (b, hk) => (c.descale === 'per-head' ? b * Hk + hk : 0) };
    for (const [name, values] of [['q_descale', descale.q], ['k_descale', descale.k], ['v_descale', descale.v]] as const) {
      feeds[name] = makeTensor('float32', values, shape);
      inputs.push({ name, type: 'float32', dims: shape });
    }
  } else {
    if (c.bias) {
      const n = c.bias.reduce((a, b) => a * b, 1);
      const values = randomValues(rng, n, round);
      const at = broadcastIndex(c.bias, target);
      bias = (b, h, i, j) => values[at(b, h, i, j)]!;
      feeds['bias'] = makeTensor(ioType, values, c.bias);
      inputs.push({ name: 'bias', type: ioType, dims: c.bias });
    } else inputs.push(null);
    if (c.mask) {
      const md = c.mask.dims;
      const n = md.reduce((a, b) => a * b, 1);
      const values = Float64Array.from({ length: n }, () => (rng.uniform() < c.mask!.keep ? 1 : 0));
      if (c.mask.emptyRows && md.length >= 2) {
        // Clear two whole rows of the mask's [.., Sq, Sk] so fully masked rows appear.
        const rowLen = md[md.length - 1]!;
        for (const r of [0, Math.floor(n / rowLen) - 1]) values.fill(0, r * rowLen, (r + 1) * rowLen);
      }
      const at = broadcastIndex(md, target);
      mask = (b, h, i, j) => values[at(b, h, i, j)] === 1;
      feeds['attn_mask'] = makeTensor('bool', values, md);
      inputs.push({ name: 'attn_mask', type: 'bool', dims: md });
    } else inputs.push(null);
  }
  if (c.keyLengths) {
    feeds['key_lengths'] = makeTensor('int32', c.keyLengths, [B]);
    inputs.push({ name: 'key_lengths', type: 'int32', dims: [B] });
  } else inputs.push(null);
  let slopes: Float64Array | undefined;
  if (c.alibi) {
    const shape = c.alibi === 'batch' ? [B, Hq] : [Hq];
    slopes = Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(rng.uniform() * 0.5));
    feeds['alibi_slopes'] = makeTensor('float32', slopes, shape);
    inputs.push({ name: 'alibi_slopes', type: 'float32', dims: shape });
  } else inputs.push(null);
  while (inputs.at(-1) === null) inputs.pop();

  const attrs: Record<string, AttrValue> = {};
  if (c.layout) attrs['layout'] = c.layout;
  if (c.qPacked) attrs['num_heads'] = Hq;
  if (c.kvPacked) attrs['kv_num_heads'] = Hk;
  if (c.causal) attrs['causal'] = 1;
  if (c.windowLeft !== undefined) attrs['window_left'] = c.windowLeft;
  if (c.windowRight !== undefined) attrs['window_right'] = c.windowRight;
  if (c.bottomRight) attrs['mask_alignment'] = 'bottom_right';
  if (c.softcap) attrs['softcap'] = { float: c.softcap };
  if (c.scale) attrs['scale'] = { float: c.scale };
  if (c.maskedRows) attrs['masked_rows'] = c.maskedRows;

  const fetches: Record<string, Tensor> = { output: poisoned(outType, oDims) };
  const outputs: Array<IoSpec | null> = [{ name: 'output', type: outType, dims: oDims }];
  if (c.lse) {
    fetches['softmax_lse'] = poisoned('float32', [B, Hq, Sq]);
    outputs.push({ name: 'softmax_lse', type: 'float32', dims: [B, Hq, Sq] });
  }
  const model = singleNodeModel(fp8 ? 'FlashAttentionFp8' : 'FlashAttention', inputs, outputs, attrs);
  const result = await runOnce(model, feeds, fetches);
  const got = unpack(readFloats(outType, result['output']!), B, Hq, Sq, Dv, qBhsd);
  const gotLse = c.lse ? readFloats('float32', result['softmax_lse']!) : undefined;

  // Reference, sequence by sequence.
  const want = new Float64Array(B * Hq * Sq * Dv);
  const wantLse = new Float64Array(B * Hq * Sq);
  for (let b = 0; b < B; b++) {
    const ds = descale ? { q: (hk: number) => descale!.q[descale!.at(b, hk)]!, k: (hk: number) => descale!.k[descale!.at(b, hk)]!, v: (hk: number) => descale!.v[descale!.at(b, hk)]! } : undefined;
    const group = Hq / Hk;
    const rc = { ...c, ...c.referenceOverrides };
    const r = attendSequence({
      Hq, Hk, D, Dv, sq: Sq, sk: Sk,
      q: (h, i, d) => qv[((b * Hq + h) * Sq + i) * D + d]! * (ds ? ds.q(Math.floor(h / group)) : 1),
      k: (hk, j, d) => kv[((b * Hk + hk) * Sk + j) * D + d]! * (ds ? ds.k(hk) : 1),
      v: (hk, j, e) => vv[((b * Hk + hk) * Sk + j) * Dv + e]! * (ds ? ds.v(hk) : 1),
      scale: rc.scale, softcap: rc.softcap, causal: rc.causal, windowLeft: c.windowLeft, windowRight: c.windowRight,
      bottomRight: rc.bottomRight, maskedRows: rc.maskedRows,
      bias: bias ? (h, i, j) => bias!(b, h, i, j) : undefined,
      mask: mask ? (h, i, j) => mask!(b, h, i, j) : undefined,
      keyLength: c.keyLengths?.[b],
      alibiSlope: slopes ? (h) => slopes![c.alibi === 'batch' ? b * Hq + h : h]! : undefined,
    });
    want.set(r.out, b * Hq * Sq * Dv);
    wantLse.set(r.lse, b * Hq * Sq);
  }
  return compare(seed, got, want, gotLse, wantLse);
}

export function compare(seed: number, got: Float64Array, want: Float64Array, gotLse?: Float64Array, wantLse?: Float64Array): CaseOutcome {
  let nanRowsOk = true;
  for (let i = 0; i < want.length; i++) if (Number.isNaN(want[i]!) && !Number.isNaN(got[i]!)) nanRowsOk = false;
  const error = relativeL2(got, want, (i) => !Number.isNaN(want[i]!));
  let lseError = 0;
  let lseMaskedOk = true;
  let maskedRows = 0;
  if (gotLse && wantLse) {
    for (let i = 0; i < wantLse.length; i++) {
      if (wantLse[i] === -Infinity) {
        maskedRows++;
        if (gotLse[i] !== -Infinity) lseMaskedOk = false;
      }
    }
    lseError = relativeL2(gotLse, wantLse, (i) => wantLse[i] !== -Infinity);
  } else {
    for (let i = 0; i < want.length; i++) if (Number.isNaN(want[i]!)) maskedRows++;
  }
  return { seed, error, lseError, nanRowsOk, lseMaskedOk, maskedRows };
}

export function bound(dtype: FloatType | 'fp8'): number {
  return dtype === 'float32' ? 1e-5 : 1e-2;
}
