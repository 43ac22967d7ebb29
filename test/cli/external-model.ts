// Turns a model's large initializers into external data, as exporters do for big models.
import { create } from '@bufbuild/protobuf';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringStringEntryProtoSchema } from 'onnx-buf';
import { decodeModel, encodeModel } from '../../src/onnx/index.js';

export function withExternalData(modelPath: string, dir: string, name = 'model.onnx', dataName = 'model.onnx.data'): string {
  const model = decodeModel(new Uint8Array(readFileSync(modelPath)));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer) {
    if (t.rawData.length < 1024) continue;
    chunks.push(t.rawData);
    t.externalData = [['location', dataName], ['offset', String(offset)], ['length', String(t.rawData.length)]].map(
      ([key, value]) => create(StringStringEntryProtoSchema, { key, value }),
    );
    t.dataLocation = 1;
    offset += t.rawData.length;
    t.rawData = new Uint8Array();
  }
  writeFileSync(join(dir, dataName), Buffer.concat(chunks));
  writeFileSync(join(dir, name), encodeModel(model));
  return join(dir, name);
}
