// Building single-node fa_onnx models and running them through createSession with NaN-poisoned,
// pre-allocated outputs.
import { type MessageInitShape, create, toBinary } from '@bufbuild/protobuf';
import { Tensor } from 'onnxruntime-common';
import { type AttributeProtoSchema, ModelProtoSchema, type NodeProtoSchema, type ValueInfoProtoSchema } from 'onnx-buf';

type ValueInfo = MessageInitShape<typeof ValueInfoProtoSchema>;
type Attribute = MessageInitShape<typeof AttributeProtoSchema>;
type Node = MessageInitShape<typeof NodeProtoSchema>;

import { createSession } from '../../src/index.js';
import { type FloatType, floatToBf16Bits, floatToHalfBits, halfBitsToFloat, bf16BitsToFloat } from './reference.js';

export const ElemType = { float32: 1, uint8: 2, int32: 6, bool: 9, float16: 10, float64: 11, bfloat16: 16, float8e4m3fn: 17 } as const;
export type ElemName = keyof typeof ElemType;

export type AttrValue = number | string | { float: number };

export interface IoSpec {
  name: string;
  type: ElemName;
  dims: number[];
}

function valueInfo(spec: IoSpec, withShape: boolean): ValueInfo {
  return {
    name: spec.name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: ElemType[spec.type],
          ...(withShape ? { shape: { dim: spec.dims.map((_, i) => ({ value: { case: 'dimParam' as const, value: `${spec.name}_${i}` } })) } } : {}),
        },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): Attribute {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (typeof v === 'object') return { name, type: 1, f: v.float };
  return { name, type: 2, i: BigInt(v) };
}

/**
 * One fa_onnx node. `inputs` holds null for an absent optional input (written as '' in the node);
 * outputs likewise.
 */
export function singleNodeModel(
  op: string,
  inputs: Array<IoSpec | null>,
  outputs: Array<IoSpec | null>,
  attrs: Record<string, AttrValue>,
  opts: { inputShapes?: boolean } = {},
): Uint8Array {
  const node: Node = {
    opType: op,
    domain: 'fa_onnx',
    input: inputs.map((i) => i?.name ?? ''),
    output: outputs.map((o) => o?.name ?? ''),
    attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
  };
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 10n,
      opsetImport: [
        { domain: '', version: 21n },
        { domain: 'fa_onnx', version: 1n },
      ],
      producerName: 'fa-onnx-op-tests',
      graph: {
        name: op,
        node: [node],
        // Inputs declare their rank (symbolic dims) unless told not to: the bad-input tests feed other ranks.
        input: inputs.filter((i): i is IoSpec => i !== null).map((i) => valueInfo(i, opts.inputShapes ?? true)),
        output: outputs.filter((o): o is IoSpec => o !== null).map((o) => valueInfo(o, false)),
      },
    }),
  );
}

/** A tensor of `type` holding `values` (float64 numbers, rounded on the way in). */
export function makeTensor(type: ElemName, values: ArrayLike<number>, dims: number[]): Tensor {
  const n = values.length;
  switch (type) {
    case 'float32':
      return new Tensor('float32', Float32Array.from(values), dims);
    case 'float16':
      return new Tensor('float16', Uint16Array.from({ length: n }, (_, i) => floatToHalfBits(values[i]!)), dims);
    case 'bfloat16': // travels as its bits
      return new Tensor('uint16', Uint16Array.from({ length: n }, (_, i) => floatToBf16Bits(values[i]!)), dims);
    case 'int32':
      return new Tensor('int32', Int32Array.from(values), dims);
    case 'bool':
      return new Tensor('bool', Uint8Array.from(values), dims);
    case 'uint8':
    case 'float8e4m3fn': // bits
      return new Tensor('uint8', Uint8Array.from(values), dims);
    case 'float64':
      return new Tensor('float64', Float64Array.from(values), dims);
  }
}

/** A pre-allocated output filled with NaN, so every element the op leaves alone shows up. */
export function poisoned(type: FloatType, dims: number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === 'float32') return new Tensor('float32', new Float32Array(n).fill(NaN), dims);
  if (type === 'float16') return new Tensor('float16', new Uint16Array(n).fill(0x7e00), dims);
  return new Tensor('uint16', new Uint16Array(n).fill(0x7fc0), dims);
}

/** The float64 values of a float32/float16/bfloat16 tensor. */
export function readFloats(type: FloatType, t: Tensor): Float64Array {
  const data = t.data as ArrayLike<number>;
  if (type === 'float32') return Float64Array.from(data);
  if (type === 'float16') return Float64Array.from(data, (h) => halfBitsToFloat(h));
  return Float64Array.from(data, (b) => bf16BitsToFloat(b));
}

export interface RunResult {
  outputs: Record<string, Tensor>;
}

/** Creates a session for `model`, runs it once with pre-allocated `fetches`, releases it. */
export async function runOnce(model: Uint8Array, feeds: Record<string, Tensor>, fetches: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await createSession(model);
  try {
    const result = await session.run(feeds, fetches);
    // Pre-allocated outputs are written in place; return them (or what the run gave back).
    return Object.fromEntries(Object.keys(fetches).map((k) => [k, fetches[k]!.data.length ? fetches[k]! : result[k]!]));
  } finally {
    await session.release();
  }
}
