import { execFileSync } from 'node:child_process';
import { create } from '@bufbuild/protobuf';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { TensorProtoSchema } from 'onnx-buf';
import { afterAll, describe, expect, it } from 'vitest';
import { externalTensors, OnnxError, readExternalBytes, readModelFile, writeModelFile } from '../../src/onnx/index.js';
import { encode, externalWeight, matmulModel, WEIGHT } from './build-model.js';

const made: string[] = [];
const fresh = () => {
  made.push(mkdtempSync(join(tmpdir(), 'fa-onnx-write-')));
  return made[made.length - 1]!;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** X = ones [2,3]: each row of Y is the column sums of W. */
async function runOnes(path: string): Promise<number[]> {
  const s = await ort.InferenceSession.create(path);
  const r = await s.run({ X: new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]) });
  return Array.from(r.Y!.data as Float32Array).slice(0, 4);
}
const COLUMN_SUMS = [15, 18, 21, 24];

function modelWithData(dir: string, sub = 'in'): string {
  mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, sub, 'weights.bin'), new Uint8Array(WEIGHT.buffer.slice(0)));
  const path = join(dir, sub, 'model.onnx');
  writeFileSync(path, encode(matmulModel({ weight: externalWeight('weights.bin') })));
  return path;
}

describe('writing models with external data', () => {
  it('rewrites locations relative to an output folder above the data, and ORT runs it', async () => {
    const dir = fresh();
    const { model, baseDir } = readModelFile(modelWithData(dir));
    writeModelFile(model, join(dir, 'out.onnx'), { sourceDir: baseDir });
    const out = readModelFile(join(dir, 'out.onnx'));
    expect(externalTensors(out.model).map((s) => s.ref.location)).toEqual(['in/weights.bin']);
    expect(externalTensors(model)[0]!.ref.location).toBe('weights.bin'); // the input model is left as it was
    expect(await runOnes(join(dir, 'out.onnx'))).toEqual(COLUMN_SUMS);
  });

  it('refuses an output folder ONNX Runtime would not read the data from, writing nothing', () => {
    const dir = fresh();
    const { model, baseDir } = readModelFile(modelWithData(dir));
    mkdirSync(join(dir, 'elsewhere'));
    expect(() => writeModelFile(model, join(dir, 'elsewhere', 'out.onnx'), { sourceDir: baseDir })).toThrow(
      /outside the output's folder.*--copy-external-data/,
    );
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('copies the data next to the output when asked', async () => {
    const dir = fresh();
    const { model, baseDir } = readModelFile(modelWithData(dir));
    mkdirSync(join(dir, 'elsewhere'));
    writeModelFile(model, join(dir, 'elsewhere', 'out.onnx'), { sourceDir: baseDir, copyExternalData: true });
    expect(readdirSync(join(dir, 'elsewhere')).sort()).toEqual(['out.onnx', 'weights.bin']);
    expect(await runOnes(join(dir, 'elsewhere', 'out.onnx'))).toEqual(COLUMN_SUMS);
  });

  it('leaves nothing behind when a copy fails halfway (no model, no data copies, no temp files)', () => {
    const dir = fresh();
    const { model, baseDir } = readModelFile(modelWithData(dir));
    // A second external tensor whose file vanishes after validation: the first copy must be undone.
    model.graph!.initializer.push(create(TensorProtoSchema, externalWeight('vanished.bin', 0n, 'V')));
    mkdirSync(join(dir, 'out'));
    expect(() => writeModelFile(model, join(dir, 'out', 'm.onnx'), { sourceDir: baseDir, copyExternalData: true })).toThrow(OnnxError);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
  });

  it('leaves nothing behind when the output folder does not exist', () => {
    const dir = fresh();
    const { model, baseDir } = readModelFile(modelWithData(dir));
    expect(() => writeModelFile(model, join(dir, 'no', 'such', 'out.onnx'), { sourceDir: baseDir })).toThrow(/folder .* does not exist/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('handles a model over 2 GB through external data (a sparse file), reading only the proto', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'in'));
    const data = join(dir, 'in', 'big.bin');
    execFileSync('truncate', ['-s', '3G', data]); // sparse: 3 GiB of holes, no real disk space
    const offset = 2n ** 31n + 4096n; // past what a 32-bit offset could address
    const fd = openSync(data, 'r+');
    writeSync(fd, new Uint8Array(WEIGHT.buffer.slice(0)), 0, 48, Number(offset));
    closeSync(fd);
    const path = join(dir, 'in', 'model.onnx');
    writeFileSync(path, encode(matmulModel({ weight: externalWeight('big.bin', offset) })));
    const before = process.memoryUsage().rss;
    const { model, baseDir } = readModelFile(path);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
    writeModelFile(model, join(dir, 'out.onnx'), { sourceDir: baseDir });
    // One tensor's bytes can be read on their own (past 2 GiB), without touching the rest of the file.
    expect(new Float32Array(readExternalBytes(model.graph!.initializer[0]!, baseDir).buffer)).toEqual(WEIGHT);
    const ref = externalTensors(readModelFile(join(dir, 'out.onnx')).model)[0]!.ref;
    expect(ref).toEqual({ location: 'in/big.bin', offset, length: 48n });
    expect(await runOnes(join(dir, 'out.onnx'))).toEqual(COLUMN_SUMS);
    // Past the end of the 3 GiB file: named as out of range.
    writeFileSync(path, encode(matmulModel({ weight: externalWeight('big.bin', 3n * 2n ** 30n - 8n) })));
    expect(() => readModelFile(path)).toThrow(/but that file has 3221225472 bytes/);
  });
});
