// Tiny ONNX models built in code for the loader tests.
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ModelProtoSchema, type NodeProtoSchema, type ValueInfoProtoSchema } from 'onnx-buf';

export type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
export type ValueInfoInit = MessageInitShape<typeof ValueInfoProtoSchema>;

export type Dim = number | string;

export function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfoInit {
  return {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: {
            dim: dims.map((d) =>
              typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } },
            ),
          },
        },
      },
    },
  };
}

export function model(opts: {
  nodes: NodeInit[];
  inputs: ValueInfoInit[];
  outputs: ValueInfoInit[];
  opsets?: Array<{ domain: string; version: bigint }>;
}): Uint8Array {
  return toBinary(
    ModelProtoSchema,
    create(ModelProtoSchema, {
      irVersion: 10n,
      opsetImport: opts.opsets ?? [{ domain: '', version: 21n }],
      producerName: 'fa-onnx-loader-test',
      graph: { name: 'g', node: opts.nodes, input: opts.inputs, output: opts.outputs },
    }),
  );
}

/** y = Identity(x), x and y of element type `elemType` and shape [n]. */
export function identityModel(elemType: number): Uint8Array {
  return model({
    nodes: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
    inputs: [valueInfo('x', elemType, ['n'])],
    outputs: [valueInfo('y', elemType, ['n'])],
  });
}

/** y = Cast(x, to), shape [n]. */
export function castModel(from: number, to: number): Uint8Array {
  return model({
    nodes: [{ opType: 'Cast', input: ['x'], output: ['y'], attribute: [{ name: 'to', type: 2, i: BigInt(to) }] }],
    inputs: [valueInfo('x', from, ['n'])],
    outputs: [valueInfo('y', to, ['n'])],
  });
}

/** s = Add(a, b) and p = Mul(a, b), float32 [2, 3]. */
export function addMulModel(): Uint8Array {
  return model({
    nodes: [
      { opType: 'Add', input: ['a', 'b'], output: ['s'] },
      { opType: 'Mul', input: ['a', 'b'], output: ['p'] },
    ],
    inputs: [valueInfo('a', 1, [2, 3]), valueInfo('b', 1, [2, 3])],
    outputs: [valueInfo('s', 1, [2, 3]), valueInfo('p', 1, [2, 3])],
  });
}
