import { TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import { dataTypeName } from './dtype.js';
import { OnnxError } from './errors.js';

/** A tensor's values in the form onnxruntime-common's Tensor takes (type name, typed array, dims). */
export interface TensorValues {
  type: 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
  dims: number[];
}

type Ctor = { new (n: number): TensorValues['data']; BYTES_PER_ELEMENT: number; from(a: ArrayLike<number | bigint>): TensorValues['data'] };
const KINDS: Partial<Record<DT, [TensorValues['type'], Ctor]>> = {
  [DT.FLOAT]: ['float32', Float32Array as unknown as Ctor],
  [DT.FLOAT16]: ['float16', Uint16Array as unknown as Ctor],
  [DT.DOUBLE]: ['float64', Float64Array as unknown as Ctor],
  [DT.INT8]: ['int8', Int8Array as unknown as Ctor],
  [DT.UINT8]: ['uint8', Uint8Array as unknown as Ctor],
  [DT.INT16]: ['int16', Int16Array as unknown as Ctor],
  [DT.UINT16]: ['uint16', Uint16Array as unknown as Ctor],
  [DT.INT32]: ['int32', Int32Array as unknown as Ctor],
  [DT.UINT32]: ['uint32', Uint32Array as unknown as Ctor],
  [DT.INT64]: ['int64', BigInt64Array as unknown as Ctor],
  [DT.UINT64]: ['uint64', BigUint64Array as unknown as Ctor],
  [DT.BOOL]: ['bool', Uint8Array as unknown as Ctor],
};

/** Decodes an inline TensorProto's values (raw_data or the typed repeated fields). */
export function tensorValues(t: TensorProto): TensorValues {
  const kind = KINDS[t.dataType as DT];
  if (!kind) throw new OnnxError('not-onnx', `tensor '${t.name}': ${dataTypeName(t.dataType)} values are not supported here`);
  const [type, C] = kind;
  const dims = t.dims.map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  let data: TensorValues['data'];
  if (t.rawData.length > 0) {
    if (t.rawData.length !== count * C.BYTES_PER_ELEMENT) {
      throw new OnnxError('truncated', `tensor '${t.name}' has ${t.rawData.length} bytes of data, expected ${count * C.BYTES_PER_ELEMENT}`);
    }
    data = new C(count);
    // Copy into a fresh, aligned buffer; little-endian like ONNX's raw_data.
    new Uint8Array(data.buffer).set(t.rawData);
  } else {
    const src: ArrayLike<number | bigint> =
      t.floatData.length ? t.floatData : t.doubleData.length ? t.doubleData : t.int64Data.length ? t.int64Data
        : t.uint64Data.length ? (type === 'uint32' ? t.uint64Data.map(Number) : t.uint64Data) : t.int32Data;
    if (src.length !== count) throw new OnnxError('truncated', `tensor '${t.name}' has ${src.length} values, expected ${count}`);
    data = C.from(src);
  }
  return { type, data, dims };
}
