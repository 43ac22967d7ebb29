import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encode, externalWeight, matmulModel } from '../onnx/build-model.js';
import { cli } from './run-cli.js';
import { tempDir } from './temp-dir.js';

// Every bad model, in its own folder: after a failed command the folder must hold only the input.
const cases: Array<[string, (dir: string) => string, RegExp]> = [
  ['garbage', (d) => write(d, 'garbage.onnx', Uint8Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256)), /garbage.onnx is not an ONNX model/],
  ['text', (d) => write(d, 'notes.onnx', new TextEncoder().encode('this is not a model\n')), /notes.onnx is not an ONNX model/],
  ['empty', (d) => write(d, 'empty.onnx', new Uint8Array()), /empty.onnx is empty/],
  ['truncated', (d) => write(d, 'cut.onnx', readFileSync('models/corpus/gpt2.ts17_eager.onnx').subarray(0, 200_000)), /cut.onnx is truncated/],
  ['cyclic', (d) => write(d, 'cycle.onnx', encode(matmulModel({ nodes: [
    { name: 'a', opType: 'Relu', input: ['b'], output: ['a'] },
    { name: 'b', opType: 'Relu', input: ['a'], output: ['b'] },
    { name: 'mm', opType: 'MatMul', input: ['a', 'W'], output: ['Y'] }] }))), /cycle.onnx has a cycle: node '.' \(Relu\) -> node '.' \(Relu\)/],
  ['missing initializer', (d) => {
    const m = matmulModel();
    m.graph!.initializer = [];
    return write(d, 'noinit.onnx', encode(m));
  }, /node 'mm' \(MatMul\) reads 'W', which no node, graph input or initializer defines/],
  ['missing external file', (d) => write(d, 'ext.onnx', encode(matmulModel({ weight: externalWeight('weights.bin') }))),
    /initializer 'W' keeps its data in 'weights.bin', which does not exist/],
  ['unsupported opset', (d) => write(d, 'new.onnx', encode(matmulModel({ opset: 26n }))), /new.onnx uses ONNX opset 26; supported: 1 to 25/],
  ['nonexistent path', (d) => join(d, 'nowhere.onnx'), /nowhere.onnx does not exist/],
];

function write(dir: string, name: string, bytes: Uint8Array): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

describe.each(cases)('a bad model (%s)', (_label, make, message) => {
  it('rewrite: names the problem, exits 3, writes nothing', async () => {
    const dir = tempDir();
    const path = make(dir);
    const before = readdirSync(dir);
    const r = await cli('rewrite', path);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual(before);
  });

  it('inspect and verify: the same message and exit 3', async () => {
    const path = make(tempDir());
    for (const argv of [['inspect', path], ['verify', path, 'models/corpus/bert.ts17_eager.onnx'], ['verify', 'models/corpus/bert.ts17_eager.onnx', path]]) {
      const r = await cli(...argv);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('an output that cannot be written', () => {
  it('exits 4 naming the output when its folder does not exist', async () => {
    const dir = tempDir();
    const out = join(dir, 'missing-folder', 'out.onnx');
    const r = await cli('rewrite', 'models/corpus/bert.ts17_eager.onnx', '-o', out);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot write .*out.onnx: folder .*missing-folder does not exist/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('exits 4 when the output is a folder or lies under a file', async () => {
    const dir = tempDir();
    const file = write(dir, 'plain-file', new Uint8Array(1));
    const a = await cli('rewrite', 'models/corpus/bert.ts17_eager.onnx', '-o', dir);
    expect(a.code).toBe(4);
    expect(a.stderr).toMatch(/cannot write .*: it is a folder/);
    const b = await cli('rewrite', 'models/corpus/bert.ts17_eager.onnx', '-o', join(file, 'out.onnx'));
    expect(b.code).toBe(4);
    expect(b.stderr).toMatch(/plain-file is not a folder/);
    expect(readdirSync(dir)).toEqual(['plain-file']);
  });

  it('exits 4 where the file system refuses new files (/proc), even as root', async () => {
    const r = await cli('rewrite', 'models/corpus/bert.ts17_eager.onnx', '-o', '/proc/fa-onnx-out.onnx');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot write \/proc\/fa-onnx-out.onnx: /);
    expect(readdirSync('/proc').filter((f) => f.includes('fa-onnx'))).toEqual([]);
  });

  it('refuses to overwrite its input', async () => {
    const r = await cli('rewrite', 'models/corpus/bert.ts17_eager.onnx', '-o', 'models/corpus/bert.ts17_eager.onnx');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the input file/);
  });
});
