// The graph view: constants, and the commit that removes what became dead.
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { Graph, readTensor } from '../../src/ir/index.js';

const vi = (name: string) => ({ name, type: { value: { case: 'tensorType' as const, value: { elemType: DT.FLOAT, shape: { dim: [{ value: { case: 'dimValue' as const, value: 2n } }] } } } } });

function model() {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'g',
      input: [vi('x'), vi('cond_in')],
      output: [vi('y')],
      initializer: [
        { name: 'w', dataType: DT.FLOAT, dims: [2n], floatData: [1, 2] },
        { name: 'unused_later', dataType: DT.FLOAT, dims: [2n], floatData: [3, 4] },
      ],
      node: [
        { opType: 'Add', name: 'dead_add', input: ['x', 'unused_later'], output: ['a'] },
        { opType: 'Mul', name: 'outer', input: ['x', 'w'], output: ['m'] },
        {
          opType: 'If', name: 'if', input: ['cond_in'], output: ['y'],
          attribute: [
            { name: 'then_branch', type: 5, g: { name: 't', output: [vi('t_out')], node: [{ opType: 'Identity', input: ['m'], output: ['t_out'] }] } },
            { name: 'else_branch', type: 5, g: { name: 'e', output: [vi('e_out')], node: [{ opType: 'Identity', input: ['x'], output: ['e_out'] }] } },
          ],
        },
      ],
    },
  });
}

describe('Graph', () => {
  it('counts a subgraph reading an outer value as a use, and keeps its producer', () => {
    const m = model();
    const g = new Graph(m);
    expect(g.usesOf('m').map((n) => n.name)).toEqual(['if']);
    const removed = g.commit();
    expect([...removed]).toEqual(['dead_add']);
    expect(m.graph!.node.map((n) => n.name)).toEqual(['outer', 'if']);
    expect(m.graph!.initializer.map((t) => t.name)).toEqual(['w']);
  });

  it('reads constants: float16 raw data, int64, Constant attributes', () => {
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0xfc00, 0x7bff]).buffer);
    expect(readTensor(create(TensorProtoSchema, { dims: [4n], dataType: DT.FLOAT16, rawData: half }))?.data)
      .toEqual([1, -2, -Infinity, 65504]);
    const m = create(ModelProtoSchema, {
      opsetImport: [{ domain: '', version: 17n }],
      graph: { node: [{ opType: 'Constant', output: ['c'], attribute: [{ name: 'value_floats', type: 6, floats: [0.5, 2] }] }], initializer: [{ name: 'i', dataType: DT.INT64, dims: [2n], int64Data: [3n, -1n] }] },
    });
    const g = new Graph(m);
    expect(g.constant('c')).toEqual({ dtype: DT.FLOAT, dims: [2], data: [0.5, 2] });
    expect(g.constant('i')).toEqual({ dtype: DT.INT64, dims: [2], data: [3, -1] });
  });
});

describe('declareValueInfo', () => {
  const symbolic = () => create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'g',
      input: [{ name: 'x', type: { value: { case: 'tensorType', value: { elemType: DT.FLOAT, shape: { dim: [{ value: { case: 'dimParam', value: 'batch' } }, { value: { case: 'dimValue', value: 8n } }] } } } } }],
      output: [vi('y')],
      node: [{ opType: 'Relu', name: 'r', input: ['x'], output: ['h'] }, { opType: 'Relu', name: 'r2', input: ['h'], output: ['y'] }],
    },
  });
  const dims = (m: ReturnType<typeof symbolic>, name: string) => {
    const v = m.graph!.valueInfo.find((x) => x.name === name);
    const tt = v?.type?.value.value as { elemType: number; shape: { dim: { value: { case?: string; value?: unknown } }[] } } | undefined;
    return tt && { elemType: tt.elemType, dims: tt.shape.dim.map((d) => (d.value.case === undefined ? '?' : d.value.value)) };
  };

  it('writes known dims as values, graph-input symbols as params, anything else as unknown', () => {
    const m = symbolic();
    new Graph(m).declareValueInfo('h', DT.FLOAT16, ['batch', 8, '4*batch', '?vi3', 'seq']);
    expect(dims(m, 'h')).toEqual({ elemType: DT.FLOAT16, dims: ['batch', 8n, '?', '?', '?'] });
  });

  it('leaves graph outputs and values already declared alone', () => {
    const m = symbolic();
    const g = new Graph(m);
    g.declareValueInfo('y', DT.FLOAT, [2]);
    g.declareValueInfo('h', DT.FLOAT, [1, 8]);
    g.declareValueInfo('h', DT.FLOAT, [2, 8]);
    expect(m.graph!.valueInfo.map((v) => v.name)).toEqual(['h']);
    expect(dims(m, 'h')?.dims).toEqual([1n, 8n]);
  });
});
