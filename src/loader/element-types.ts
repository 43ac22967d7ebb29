// ONNX element types (ONNXTensorElementDataType numbers) and onnxruntime-common's tensor types.
//
// onnxruntime-common 1.30 has no bfloat16 or float8 tensor type, so those travel as their bits:
// a bfloat16 input or output is a 'uint16' Tensor, a float8 one a 'uint8' Tensor. Metadata still
// names the model's real type ('bfloat16', 'float8e4m3fn', ...).
import type { Tensor } from 'onnxruntime-common';

export const ElementType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  float8e4m3fn: 17,
  float8e4m3fnuz: 18,
  float8e5m2: 19,
  float8e5m2fnuz: 20,
  uint4: 21,
  int4: 22,
} as const;

export type ElementTypeName = keyof typeof ElementType;

const names = new Map<number, ElementTypeName>(Object.entries(ElementType).map(([name, id]) => [id, name as ElementTypeName]));

/** The element type's name, or `type <n>` for one we do not know. */
export function elementTypeName(id: number): string {
  return names.get(id) ?? `type ${id}`;
}

/** The onnxruntime-common Tensor type that carries a model type's data (bit containers for bf16/fp8). */
export function tensorTypeFor(id: number): Tensor.Type | undefined {
  const name = names.get(id);
  if (name === undefined || name === 'uint4' || name === 'int4') return undefined;
  if (name === 'bfloat16') return 'uint16';
  if (name.startsWith('float8')) return 'uint8';
  return name as Tensor.Type;
}

/**
 * The element type to give ORT for a tensor of onnxruntime-common type `type` bound to a model value
 * declared as `declared`: its own type, except that the bit containers stand for bf16 / fp8.
 */
export function elementTypeFor(type: string, declared: number | undefined): number | undefined {
  if (declared !== undefined && type === tensorTypeFor(declared)) return declared;
  return (ElementType as Record<string, number>)[type];
}

/** A typed array of the right kind over an output's bytes. */
export function viewAs(type: Tensor.Type, buffer: ArrayBuffer): Tensor.DataType {
  switch (type) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'uint16':
    case 'float16':
      return new Uint16Array(buffer);
    case 'uint32':
      return new Uint32Array(buffer);
    case 'uint64':
      return new BigUint64Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
    default:
      throw new Error(`fa-onnx: no typed array for tensor type ${type}`);
  }
}
