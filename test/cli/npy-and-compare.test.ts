import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareOutput, defaultTolerance, outputTolerance } from '../../src/cli/compare.js';
import { readNpy } from '../../src/cli/npy.js';
import { Progress } from '../../src/cli/progress.js';
import { fromHalf, toHalf } from '../../src/cli/tensors.js';
import { writeNpy } from './npy.js';
import { tempDir } from './temp-dir.js';

describe('.npy reader', () => {
  it('reads shapes and little-endian data of the common dtypes', () => {
    const dir = tempDir();
    writeNpy(join(dir, 'f.npy'), '<f4', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    writeNpy(join(dir, 'i.npy'), '<i8', [4], BigInt64Array.from([1n, -2n, 3n, 4n]));
    writeNpy(join(dir, 's.npy'), '<f8', [], Float64Array.from([2.5]));
    expect(readNpy(join(dir, 'f.npy'))).toEqual({ type: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(readNpy(join(dir, 'i.npy')).data).toEqual(BigInt64Array.from([1n, -2n, 3n, 4n]));
    expect(readNpy(join(dir, 's.npy'))).toMatchObject({ type: 'float64', dims: [] });
  });

  it('names what is wrong with a bad file', () => {
    const dir = tempDir();
    writeNpy(join(dir, 'be.npy'), '>f4', [1], new Float32Array(1));
    expect(() => readNpy(join(dir, 'be.npy'))).toThrow(/dtype '>f4' is not supported/);
    writeNpy(join(dir, 'short.npy'), '<f4', [100], new Float32Array(3));
    expect(() => readNpy(join(dir, 'short.npy'))).toThrow(/short.npy is truncated/);
    writeFileSync(join(dir, 'x.npy'), 'PK\x03\x04');
    expect(() => readNpy(join(dir, 'x.npy'))).toThrow(/not a .npy file/);
    expect(() => readNpy(join(dir, 'none.npy'))).toThrow(/cannot read .*none.npy/);
  });
});

describe('output comparison', () => {
  const f32 = (v: number[]) => ({ type: 'float32', dims: [v.length], data: Float32Array.from(v) });

  it('measures the error relative to the output scale, with type-dependent defaults', () => {
    const c = compareOutput('y', f32([10, -20, 5]), f32([10, -20.001, 5]));
    expect(c.maxAbsError).toBeCloseTo(0.001, 4);
    expect(c.maxRelError).toBeCloseTo(0.00005, 6);
    expect(c.ok).toBe(true); // 1e-3 <= 1e-6 + 1e-4 * 20
    expect(compareOutput('y', f32([10, -20, 5]), f32([10, -20.01, 5])).ok).toBe(false);
    expect(defaultTolerance('float16')).toEqual({ atol: 1e-3, rtol: 1e-2 });
  });

  it('holds float32 outputs to the bfloat16 tolerance only where attention runs at reduced precision', () => {
    expect(outputTolerance('float32', false)).toEqual({ atol: 1e-6, rtol: 1e-4 });
    expect(outputTolerance('float32', true)).toEqual({ atol: 1e-3, rtol: 1e-2 });
    expect(outputTolerance('float16', true)).toEqual({ atol: 1e-3, rtol: 1e-2 });
    expect(outputTolerance('float32', true, { rtol: 5e-3 })).toEqual({ atol: 1e-3, rtol: 5e-3 });
    // a 2e-3 relative error (what bf16-rounded inputs give) fails the float32 default and passes the reduced one
    const tol = outputTolerance('float32', true);
    expect(compareOutput('y', f32([1, 2]), f32([1, 2.004])).ok).toBe(false);
    expect(compareOutput('y', f32([1, 2]), f32([1, 2.004]), tol).ok).toBe(true);
  });

  it('fails NaN or infinity in one output only, and passes them where both agree', () => {
    expect(compareOutput('y', f32([1, NaN]), f32([1, NaN])).ok).toBe(true);
    expect(compareOutput('y', f32([1, -Infinity]), f32([1, -Infinity])).ok).toBe(true);
    const c = compareOutput('y', f32([1, 2]), f32([1, NaN]));
    expect(c.ok).toBe(false);
    expect(c.problem).toMatch(/1 values are NaN or infinite/);
  });

  it('fails a shape or type change', () => {
    expect(compareOutput('y', f32([1, 2]), { type: 'float32', dims: [1, 2], data: Float32Array.from([1, 2]) }).problem).toMatch(/float32\[1,2\], the original float32\[2\]/);
  });

  it('converts float16 both ways', () => {
    for (const x of [0, 1, -2.5, 65504, 6.1e-5, 1e-7]) expect(fromHalf(toHalf(x))).toBeCloseTo(x, 3);
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });
});

describe('progress on a terminal', () => {
  const capture = (tty: boolean) => {
    let err = '';
    return { io: { out: () => {}, err: (t: string) => void (err += t), errIsTTY: tty }, text: () => err };
  };

  it('shows stages for a large graph on a TTY, then clears its line', () => {
    const c = capture(true);
    const p = new Progress(c.io, 'models/corpus/bert.ts17_eager.onnx');
    p.stage('small file: nothing yet');
    expect(c.text()).toBe('');
    p.noteGraphSize(100_000);
    p.stage('rewriting attention');
    p.done();
    expect(c.text()).toMatch(/^\r\x1b\[2K\[\d+\.\ds\] rewriting attention\.\.\.\r\x1b\[2K$/);
  });

  it('stays silent when stderr is not a terminal', () => {
    const c = capture(false);
    const p = new Progress(c.io, 'models/corpus/bert.ts17_eager.onnx');
    p.noteGraphSize(100_000);
    p.stage('rewriting attention');
    p.done();
    expect(c.text()).toBe('');
  });
});
