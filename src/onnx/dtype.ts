import { TensorProto_DataType as DT } from 'onnx-buf';

/** Bits per element of each ONNX tensor type (strings have no fixed size: undefined). */
const BITS: Partial<Record<DT, number>> = {
  [DT.FLOAT]: 32, [DT.UINT8]: 8, [DT.INT8]: 8, [DT.UINT16]: 16, [DT.INT16]: 16,
  [DT.INT32]: 32, [DT.INT64]: 64, [DT.BOOL]: 8, [DT.FLOAT16]: 16, [DT.DOUBLE]: 64,
  [DT.UINT32]: 32, [DT.UINT64]: 64, [DT.COMPLEX64]: 64, [DT.COMPLEX128]: 128,
  [DT.BFLOAT16]: 16, [DT.FLOAT8E4M3FN]: 8, [DT.FLOAT8E4M3FNUZ]: 8, [DT.FLOAT8E5M2]: 8,
  [DT.FLOAT8E5M2FNUZ]: 8, [DT.UINT4]: 4, [DT.INT4]: 4, [DT.FLOAT4E2M1]: 4,
  [DT.FLOAT8E8M0]: 8, [DT.UINT2]: 2, [DT.INT2]: 2,
};

export function bitsPerElement(dataType: number): number | undefined {
  return BITS[dataType as DT];
}

export function dataTypeName(dataType: number): string {
  return DT[dataType] ?? `type ${dataType}`;
}

/** Bytes of raw data a tensor of this type and shape holds (sub-byte types are packed, rounded up). */
export function rawByteLength(dataType: number, dims: readonly bigint[]): bigint | undefined {
  const bits = bitsPerElement(dataType);
  if (bits === undefined) return undefined;
  const count = dims.reduce((n, d) => n * d, 1n);
  return (count * BigInt(bits) + 7n) / 8n;
}
