/** Tensors held in plain typed arrays, and the conversions verify needs between them. */
export type HostTensor =
  | { type: 'float32'; dims: number[]; data: Float32Array }
  | { type: 'float64'; dims: number[]; data: Float64Array }
  | { type: 'float16'; dims: number[]; data: Uint16Array }
  | { type: 'int64'; dims: number[]; data: BigInt64Array }
  | { type: 'uint64'; dims: number[]; data: BigUint64Array }
  | { type: 'int32'; dims: number[]; data: Int32Array }
  | { type: 'uint32'; dims: number[]; data: Uint32Array }
  | { type: 'int16'; dims: number[]; data: Int16Array }
  | { type: 'uint16'; dims: number[]; data: Uint16Array }
  | { type: 'int8'; dims: number[]; data: Int8Array }
  | { type: 'uint8'; dims: number[]; data: Uint8Array }
  | { type: 'bool'; dims: number[]; data: Uint8Array };

export type HostType = HostTensor['type'];

/** ONNX TensorProto element types -> host type names (bfloat16 is carried as raw 16-bit words). */
export const ONNX_TO_HOST: Record<number, HostType | undefined> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Any tensor's values as float64, for error measurement. */
export function toFloat64(t: { type: string; data: ArrayLike<number | bigint> }): Float64Array {
  const out = new Float64Array(t.data.length);
  if (t.type === 'float16') for (let i = 0; i < out.length; i++) out[i] = fromHalf(t.data[i] as number);
  else for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** Converts numbers (e.g. a .npy of another dtype) to the type a model input wants. */
export function convertTo(type: HostType, dims: number[], values: ArrayLike<number | bigint>): HostTensor {
  const n = values.length;
  const num = (i: number) => Number(values[i]);
  switch (type) {
    case 'float16': return { type, dims, data: Uint16Array.from({ length: n }, (_, i) => toHalf(num(i))) };
    case 'int64': return { type, dims, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(num(i)))) };
    case 'uint64': return { type, dims, data: BigUint64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(num(i)))) };
    case 'bool': return { type, dims, data: Uint8Array.from({ length: n }, (_, i) => (num(i) ? 1 : 0)) };
    case 'float32': return { type, dims, data: Float32Array.from({ length: n }, (_, i) => num(i)) };
    case 'float64': return { type, dims, data: Float64Array.from({ length: n }, (_, i) => num(i)) };
    case 'int32': return { type, dims, data: Int32Array.from({ length: n }, (_, i) => num(i)) };
    case 'uint32': return { type, dims, data: Uint32Array.from({ length: n }, (_, i) => num(i)) };
    case 'int16': return { type, dims, data: Int16Array.from({ length: n }, (_, i) => num(i)) };
    case 'uint16': return { type, dims, data: Uint16Array.from({ length: n }, (_, i) => num(i)) };
    case 'int8': return { type, dims, data: Int8Array.from({ length: n }, (_, i) => num(i)) };
    case 'uint8': return { type, dims, data: Uint8Array.from({ length: n }, (_, i) => num(i)) };
  }
}
