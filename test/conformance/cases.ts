// ONNX's conformance cases (Debian's libonnx-testdata): model, inputs and expected outputs.
import { fromBinary } from '@bufbuild/protobuf';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TensorProtoSchema, type ModelProto } from 'onnx-buf';
import { decodeModel, tensorValues, type TensorValues } from '../../src/onnx/index.js';

export const TESTDATA = '.deps/debian/usr/share/libonnx-testdata/data/node';

export interface ConformanceCase {
  name: string;
  dir: string;
  model: ModelProto;
  /** Graph inputs in order, with the data set's values (an empty name: an omitted optional input). */
  inputs: Map<string, TensorValues>;
  outputs: Map<string, TensorValues>;
}

export function caseNames(prefix: string): string[] {
  if (!existsSync(TESTDATA)) return [];
  return readdirSync(TESTDATA).filter((n) => n.startsWith(prefix)).sort();
}

function readTensor(path: string): TensorValues {
  return tensorValues(fromBinary(TensorProtoSchema, new Uint8Array(readFileSync(path))));
}

export function loadCase(name: string): ConformanceCase {
  const dir = join(TESTDATA, name);
  const model = decodeModel(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), `${name}/model.onnx`);
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputNames = g.input.map((v) => v.name).filter((n) => !inits.has(n));
  const data = join(dir, 'test_data_set_0');
  const inputs = new Map<string, TensorValues>();
  inputNames.forEach((n, i) => {
    const f = join(data, `input_${i}.pb`);
    if (existsSync(f)) inputs.set(n, readTensor(f));
  });
  const outputs = new Map<string, TensorValues>();
  g.output.forEach((v, i) => outputs.set(v.name, readTensor(join(data, `output_${i}.pb`))));
  return { name, dir, model, inputs, outputs };
}
