// Every model of ONNX 1.20's node tests (IR 3 to 13, opsets 1 to 25, every tensor type, functions,
// subgraphs) decodes, passes validation and encodes back byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, validateModel } from '../../src/onnx/index.js';
import { caseNames, TESTDATA } from './cases.js';

const names = caseNames('test_');

describe.skipIf(names.length === 0)('ONNX 1.20 node-test models through src/onnx', () => {
  it('has them all', () => expect(names.length).toBeGreaterThan(1600));

  it('decodes, validates and re-encodes each byte for byte', () => {
    const problems: string[] = [];
    for (const name of names) {
      const bytes = new Uint8Array(readFileSync(join(TESTDATA, name, 'model.onnx')));
      try {
        const model = decodeModel(bytes, name);
        validateModel(model, name);
        if (!Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))) problems.push(`${name}: bytes differ`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    expect(problems).toEqual([]);
  });
});
