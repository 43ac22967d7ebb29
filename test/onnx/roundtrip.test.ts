import { create, toBinary } from '@bufbuild/protobuf';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ModelProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/onnx/index.js';

function onnxFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? onnxFiles(join(dir, e.name)) : e.name.endsWith('.onnx') ? [join(dir, e.name)] : [],
  );
}

const corpus = onnxFiles('models');

describe('decode + encode is byte-identical', () => {
  it('finds the bundled models', () => expect(corpus.length).toBeGreaterThanOrEqual(27));
  it.each(corpus)('%s', (path) => {
    const bytes = new Uint8Array(readFileSync(path));
    const again = encodeModel(decodeModel(bytes, path));
    expect(again.length).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(again), Buffer.from(bytes))).toBe(0);
  });

  it('keeps every part of current ONNX: IR 11, opset 24, float8/4-bit tensors, functions, metadata, sparse', () => {
    const m = create(ModelProtoSchema, {
      irVersion: 11n,
      opsetImport: [{ domain: '', version: 24n }, { domain: 'custom', version: 1n }],
      docString: 'model doc',
      metadataProps: [{ key: 'k', value: 'v' }],
      graph: {
        name: 'g', docString: 'graph doc',
        node: [{ opType: 'F', domain: 'custom', input: ['x'], output: ['y'], docString: 'node doc' }],
        input: [{ name: 'x', type: { value: { case: 'tensorType', value: { elemType: DT.FLOAT8E4M3FN } } } }],
        output: [{ name: 'y' }],
        initializer: [
          { name: 'f8', dataType: DT.FLOAT8E5M2, dims: [2n], rawData: new Uint8Array([1, 2]) },
          { name: 'i4', dataType: DT.INT4, dims: [3n], rawData: new Uint8Array([0x21, 0x03]) },
          { name: 'fp4', dataType: DT.FLOAT4E2M1, dims: [2n], rawData: new Uint8Array([0x42]) },
          { name: 'e8', dataType: DT.FLOAT8E8M0, dims: [1n], rawData: new Uint8Array([127]) },
        ],
        sparseInitializer: [{ dims: [4n], values: { name: 's', dataType: DT.FLOAT, dims: [1n], floatData: [2] },
          indices: { dataType: DT.INT64, dims: [1n], int64Data: [3n] } }],
        metadataProps: [{ key: 'gk', value: 'gv' }],
      },
      functions: [{ name: 'F', domain: 'custom', input: ['a'], output: ['b'], opsetImport: [{ domain: '', version: 24n }],
        node: [{ opType: 'Identity', input: ['a'], output: ['b'] }], docString: 'function doc' }],
    });
    const bytes = toBinary(ModelProtoSchema, m);
    const back = decodeModel(bytes);
    expect(Buffer.from(encodeModel(back)).equals(Buffer.from(bytes))).toBe(true);
    expect(back.graph!.initializer.map((t) => t.dataType)).toEqual([DT.FLOAT8E5M2, DT.INT4, DT.FLOAT4E2M1, DT.FLOAT8E8M0]);
    expect(back.functions[0]!.docString).toBe('function doc');
  });

  it('keeps fields from ONNX versions newer than its schema (unknown fields)', () => {
    const bytes = new Uint8Array(readFileSync(corpus[0]!));
    // Field 99, varint 5: a field no ONNX schema has, appended at the top level.
    const withUnknown = new Uint8Array([...bytes, 0x98, 0x06, 0x05]);
    const again = encodeModel(decodeModel(withUnknown));
    expect(Buffer.from(again).equals(Buffer.from(withUnknown))).toBe(true);
  });
});
