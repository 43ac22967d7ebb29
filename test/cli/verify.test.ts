import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/onnx/index.js';
import { readFileSync } from 'node:fs';
import { encode, matmulModel } from '../onnx/build-model.js';
import { writeNpy } from './npy.js';
import { cli } from './run-cli.js';
import { tempDir } from './temp-dir.js';

const bert = 'models/corpus/bert.ts17_eager.onnx';

/** A copy of a model whose float weights are all shifted by `delta`: its outputs must differ. */
function perturbed(path: string, delta: number): string {
  const model = decodeModel(new Uint8Array(readFileSync(path)));
  for (const t of model.graph!.initializer) {
    if (t.dataType !== 1 || t.rawData.length === 0) continue;
    const f = new Float32Array(t.rawData.slice().buffer);
    for (let i = 0; i < f.length; i++) f[i]! += delta;
    t.rawData = new Uint8Array(f.buffer);
  }
  const out = join(tempDir(), 'perturbed.onnx');
  writeFileSync(out, encodeModel(model));
  return out;
}

describe('fa-onnx verify', () => {
  it('passes a model against an exact copy, reporting each output', async () => {
    const copy = join(tempDir(), 'copy.onnx');
    copyFileSync(bert, copy);
    const r = await cli('verify', bert, copy);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/input_ids\s+int64\[2,16\]\s+token-ids/);
    expect(r.stdout).toMatch(/attention_mask\s+int64\[2,16\]\s+attention-mask/);
    expect(r.stdout).toMatch(/\S+\s+float32\s+0.00e\+0\s/);
    expect(r.stdout).toMatch(/verify: ok/);
  });

  it('fails with exit 1 when outputs differ beyond tolerance, and --rtol can widen it', async () => {
    const other = perturbed(bert, 1e-3);
    const r = await cli('verify', bert, other);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BEYOND TOLERANCE/);
    expect(r.stdout).toMatch(/verify: FAILED/);
    expect((await cli('verify', bert, other, '--rtol', '10')).code).toBe(0);
  });

  it('takes --batch/--seq and user inputs from .npy files, and writes --json', async () => {
    const dir = tempDir();
    const ids = join(dir, 'ids.npy');
    writeNpy(ids, '<i4', [1, 5], Int32Array.from([3, 1, 4, 1, 5])); // int32 given for an int64 input
    const r = await cli('verify', bert, bert, '--input', `input_ids=${ids}`, '--batch', '1', '--seq', '5', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.inputs).toContainEqual({ name: 'input_ids', type: 'int64', dims: [1, 5], source: 'given' });
    expect(report.inputs).toContainEqual({ name: 'attention_mask', type: 'int64', dims: [1, 5], source: 'attention-mask' });
    expect(report.ok).toBe(true);
  });

  it('names a bad .npy file and an unknown input name', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, 'not numpy');
    const a = await cli('verify', bert, bert, '--input', `input_ids=${bad}`);
    expect(a.code).toBe(3);
    expect(a.stderr).toMatch(/bad.npy is not a .npy file/);
    const ok = join(dir, 'ok.npy');
    writeNpy(ok, '<i8', [1, 2], BigInt64Array.from([1n, 2n]));
    const b = await cli('verify', bert, bert, '--input', `nosuch=${ok}`);
    expect(b.code).toBe(3);
    expect(b.stderr).toMatch(/--input nosuch: the model has no input of that name/);
  });

  it('names a model the provider cannot run (exit 3)', async () => {
    const unknownOp = join(tempDir(), 'unknown-op.onnx');
    writeFileSync(unknownOp, encode(matmulModel({ nodes: [{ name: 'mm', opType: 'NoSuchOp', input: ['X', 'W'], output: ['Y'] }] })));
    const r = await cli('verify', unknownOp, unknownOp);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/unknown-op.onnx does not run on the cpu provider: .*NoSuchOp/);
  });
});
