// Small models built in code for the I/O tests: one MatMul whose weight may live in external data.
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';

export const WEIGHT = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [3, 4]

const dim = (n: number) => ({ value: { case: 'dimValue' as const, value: BigInt(n) } });
const floatType = (dims: number[]) => ({
  value: { case: 'tensorType' as const, value: { elemType: 1, shape: { dim: dims.map(dim) } } },
});

export function externalWeight(location: string, offset = 0n, name = 'W'): Partial<TensorProto> {
  return {
    name, dataType: 1, dims: [3n, 4n], dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: '48' },
    ],
  };
}

export function inlineWeight(name = 'W'): Partial<TensorProto> {
  return { name, dataType: 1, dims: [3n, 4n], rawData: new Uint8Array(WEIGHT.buffer.slice(0)) };
}

/** X [2,3] · W [3,4] -> Y. */
export function matmulModel(
  opts: { weight?: Partial<TensorProto>; nodes?: Partial<NodeProto>[]; irVersion?: bigint; opset?: bigint } = {},
): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: opts.irVersion ?? 10n,
    opsetImport: [{ domain: '', version: opts.opset ?? 21n }],
    producerName: 'fa-onnx-test',
    graph: {
      name: 'g',
      node: opts.nodes ?? [{ name: 'mm', opType: 'MatMul', input: ['X', 'W'], output: ['Y'] }],
      input: [{ name: 'X', type: floatType([2, 3]) }],
      output: [{ name: 'Y', type: floatType([2, 4]) }],
      initializer: [opts.weight ?? inlineWeight()],
    },
  });
}

export const encode = (m: ModelProto) => toBinary(ModelProtoSchema, m);
