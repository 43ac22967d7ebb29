import { readFileSync } from 'node:fs';
import { InputError } from './io.js';
import type { HostTensor } from './tensors.js';

// numpy dtype strings (little-endian or byte-order free) -> the tensor type they hold.
const NPY_TYPES: Record<string, HostTensor['type']> = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16', '<i8': 'int64', '<i4': 'int32',
  '<i2': 'int16', '|i1': 'int8', '<u8': 'uint64', '<u4': 'uint32', '<u2': 'uint16', '|u1': 'uint8',
  '|b1': 'bool',
};
const CTORS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int64: BigInt64Array,
  int32: Int32Array, int16: Int16Array, int8: Int8Array, uint64: BigUint64Array, uint32: Uint32Array,
  uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array,
} as const;

/** Reads a .npy file (format versions 1-3, C order, little-endian). */
export function readNpy(path: string): HostTensor {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code})`);
  }
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new InputError(`${path} is not a .npy file (no NUMPY magic)`);
  }
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new InputError(`${path}: unreadable .npy header`);
  const type = NPY_TYPES[descr];
  if (!type) throw new InputError(`${path}: numpy dtype '${descr}' is not supported (use little-endian numbers or bool)`);
  if (fortran) throw new InputError(`${path}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const C = CTORS[type];
  const need = count * C.BYTES_PER_ELEMENT;
  if (bytes.length - start < need) throw new InputError(`${path} is truncated: ${bytes.length - start} data bytes, shape needs ${need}`);
  const data = new C(count);
  new Uint8Array(data.buffer).set(bytes.subarray(start, start + need));
  return { type, dims, data } as HostTensor;
}
