// Reading constant tensors (initializers, Constant nodes) as plain numbers, for the small tensors
// that proofs need: scales, mask fill values, shapes, axes. Large weights are never decoded.
import { TensorProto_DataType as DT, type AttributeProto, type TensorProto } from 'onnx-buf';

export interface ConstValue {
  dtype: number;
  dims: number[];
  /** Element values as numbers (int64 converted; float16/bfloat16 decoded; bool as 0/1). */
  data: number[];
}

/** Decodes one IEEE half-precision value. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function bf16ToFloat(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, h << 16, false);
  return b.getFloat32(0, false);
}

const BYTES: Partial<Record<number, number>> = {
  [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.FLOAT16]: 2, [DT.BFLOAT16]: 2, [DT.INT8]: 1, [DT.UINT8]: 1,
  [DT.INT16]: 2, [DT.UINT16]: 2, [DT.INT32]: 4, [DT.UINT32]: 4, [DT.INT64]: 8, [DT.UINT64]: 8, [DT.BOOL]: 1,
};

/** Elements above this count are not decoded (proofs only need small tensors). */
export const MAX_DECODED_ELEMENTS = 1 << 16;

/** The values of an inline tensor, or undefined when external, too large or of an unsupported type. */
export function readTensor(t: TensorProto, maxElements = MAX_DECODED_ELEMENTS): ConstValue | undefined {
  const dims = t.dims.map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > maxElements || t.dataLocation === 1 /* EXTERNAL */ || t.externalData.length > 0) return undefined;
  const dtype = t.dataType;
  const size = BYTES[dtype];
  if (size === undefined) return undefined;
  const data: number[] = new Array(n);
  if (t.rawData.length > 0) {
    if (t.rawData.length !== n * size) return undefined;
    const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      switch (dtype) {
        case DT.FLOAT: data[i] = v.getFloat32(o, true); break;
        case DT.DOUBLE: data[i] = v.getFloat64(o, true); break;
        case DT.FLOAT16: data[i] = halfToFloat(v.getUint16(o, true)); break;
        case DT.BFLOAT16: data[i] = bf16ToFloat(v.getUint16(o, true)); break;
        case DT.INT8: data[i] = v.getInt8(o); break;
        case DT.UINT8: case DT.BOOL: data[i] = v.getUint8(o); break;
        case DT.INT16: data[i] = v.getInt16(o, true); break;
        case DT.UINT16: data[i] = v.getUint16(o, true); break;
        case DT.INT32: data[i] = v.getInt32(o, true); break;
        case DT.UINT32: data[i] = v.getUint32(o, true); break;
        case DT.INT64: data[i] = Number(v.getBigInt64(o, true)); break;
        case DT.UINT64: data[i] = Number(v.getBigUint64(o, true)); break;
      }
    }
    return { dtype, dims, data };
  }
  let src: ArrayLike<number | bigint>;
  if (dtype === DT.FLOAT) src = t.floatData;
  else if (dtype === DT.DOUBLE) src = t.doubleData;
  else if (dtype === DT.INT64) src = t.int64Data;
  else if (dtype === DT.UINT64 || dtype === DT.UINT32) src = t.uint64Data;
  else src = t.int32Data; // int8..int32, bool, and the bit patterns of float16/bfloat16
  if (src.length !== n) return undefined;
  for (let i = 0; i < n; i++) {
    const x = Number(src[i]);
    data[i] = dtype === DT.FLOAT16 ? halfToFloat(x) : dtype === DT.BFLOAT16 ? bf16ToFloat(x) : x;
  }
  return { dtype, dims, data };
}

/** The value of a Constant node's attribute (value, value_float(s), value_int(s)). */
export function readConstantAttribute(a: AttributeProto): ConstValue | undefined {
  switch (a.name) {
    case 'value': return a.t ? readTensor(a.t) : undefined;
    case 'value_float': return { dtype: DT.FLOAT, dims: [], data: [a.f] };
    case 'value_floats': return { dtype: DT.FLOAT, dims: [a.floats.length], data: [...a.floats] };
    case 'value_int': return { dtype: DT.INT64, dims: [], data: [Number(a.i)] };
    case 'value_ints': return { dtype: DT.INT64, dims: [a.ints.length], data: a.ints.map(Number) };
    default: return undefined;
  }
}

/** The single value every element shares, or undefined when they differ. */
export function uniformValue(c: ConstValue): number | undefined {
  if (c.data.length === 0) return undefined;
  const first = c.data[0]!;
  for (const x of c.data) if (!(x === first || (Number.isNaN(x) && Number.isNaN(first)))) return undefined;
  return first;
}

/** Dtype helpers. */
export const FLOAT_TYPES: ReadonlySet<number> = new Set([DT.FLOAT, DT.FLOAT16, DT.BFLOAT16, DT.DOUBLE]);
export function lowestFinite(dtype: number): number {
  if (dtype === DT.FLOAT16) return -65504;
  if (dtype === DT.BFLOAT16) return -3.3895313892515355e38;
  if (dtype === DT.DOUBLE) return -Number.MAX_VALUE;
  return -3.4028234663852886e38;
}
export { DT };
