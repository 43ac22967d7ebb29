import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { decodeModel, OnnxError, readModelFile, validateModel } from '../../src/onnx/index.js';
import { encode, externalWeight, matmulModel } from './build-model.js';

const corpusModel = 'models/corpus/bert.ts17_eager.onnx';

function expectOnnxError(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxError);
    expect((e as OnnxError).code).toBe(code);
    expect((e as OnnxError).message).toMatch(text);
    return;
  }
  throw new Error(`expected an OnnxError ${code}`);
}

describe('decoding bad files', () => {
  it('rejects an empty file, text and random bytes as not ONNX', () => {
    expectOnnxError(() => decodeModel(new Uint8Array(), 'f'), 'not-onnx', /f is empty/);
    expectOnnxError(() => decodeModel(new TextEncoder().encode('hello, world\n'), 'f'), 'not-onnx', /not an ONNX model/);
    const noise = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    expectOnnxError(() => decodeModel(noise, 'f'), 'not-onnx', /not an ONNX model/);
  });

  it('says a model cut short is truncated', () => {
    const bytes = new Uint8Array(readFileSync(corpusModel));
    for (const cut of [10, 1000, bytes.length >> 1, bytes.length - 3]) {
      expectOnnxError(() => decodeModel(bytes.subarray(0, cut), 'f'), 'truncated', /f is truncated/);
    }
  });

  it('refuses a protobuf file over 2 GB without reading it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fa-onnx-big-'));
    const path = join(dir, 'huge.onnx');
    execFileSync('truncate', ['-s', '2100M', path]); // sparse: no real disk space
    try {
      expectOnnxError(() => readModelFile(path), 'too-large', /cannot exceed 2 GB.*external data/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('names a path that does not exist', () => {
    expectOnnxError(() => readModelFile('/nonexistent/model.onnx'), 'not-found', /\/nonexistent\/model.onnx does not exist/);
  });
});

describe('validating graphs', () => {
  it('accepts every bundled model', () => {
    const models = readdirSync('models/corpus').filter((f) => f.endsWith('.onnx'));
    expect(models.length).toBeGreaterThanOrEqual(27);
    for (const f of models) expect(() => readModelFile(join('models/corpus', f)), f).not.toThrow();
  });

  it('finds a cycle and names its nodes in data-flow order', () => {
    const m = matmulModel({
      nodes: [
        { name: 'a', opType: 'Add', input: ['X', 'c'], output: ['b'] },
        { name: 'b', opType: 'Relu', input: ['b'], output: ['c'] },
        { name: 'mm', opType: 'MatMul', input: ['c', 'W'], output: ['Y'] },
      ],
    });
    expectOnnxError(() => validateModel(m, 'm'), 'cyclic-graph', /cycle: node 'b' \(Relu\) -> node 'a' \(Add\) -> node 'b'/);
  });

  it('accepts nodes out of order (a DAG in any order)', () => {
    const m = matmulModel({
      nodes: [
        { name: 'mm', opType: 'MatMul', input: ['r', 'W'], output: ['Y'] },
        { name: 'r', opType: 'Relu', input: ['X'], output: ['r'] },
      ],
    });
    expect(() => validateModel(m, 'm')).not.toThrow();
  });

  it('names a tensor written twice', () => {
    const m = matmulModel({
      nodes: [
        { name: 'r1', opType: 'Relu', input: ['X'], output: ['r'] },
        { name: 'r2', opType: 'Relu', input: ['X'], output: ['r'] },
        { name: 'mm', opType: 'MatMul', input: ['r', 'W'], output: ['Y'] },
      ],
    });
    expectOnnxError(() => validateModel(m, 'm'), 'duplicate-name', /node 'r2' \(Relu\) writes 'r', which node 'r1' \(Relu\) already defines/);
    const shadow = matmulModel({ nodes: [{ name: 'mm', opType: 'MatMul', input: ['X', 'W'], output: ['W'] }] });
    expectOnnxError(() => validateModel(shadow, 'm'), 'duplicate-name', /writes 'W', which a graph input or initializer already defines/);
  });

  it('names a missing initializer', () => {
    const m = matmulModel();
    m.graph!.initializer = [];
    expectOnnxError(() => validateModel(m, 'm'), 'undefined-input', /node 'mm' \(MatMul\) reads 'W'.*missing initializer/);
  });

  it('lets subgraphs read outer names, and catches undefined ones inside them', () => {
    const branch = (input: string) => ({
      name: 'then', node: [{ opType: 'Identity', input: [input], output: ['z'] }], output: [{ name: 'z' }],
    });
    const withIf = (input: string) => matmulModel({
      nodes: [
        { name: 'mm', opType: 'MatMul', input: ['X', 'W'], output: ['Y0'] },
        { name: 'if', opType: 'If', input: ['cond'], output: ['Y'],
          attribute: [{ name: 'then_branch', type: 5, g: branch(input) }, { name: 'else_branch', type: 5, g: branch(input) }] },
        { name: 'c', opType: 'Constant', output: ['cond'] },
      ],
    });
    expect(() => validateModel(withIf('Y0'), 'm')).not.toThrow();
    expectOnnxError(() => validateModel(withIf('nowhere'), 'm'), 'undefined-input', /reads 'nowhere'/);
  });

  it('rejects IR and opset versions it does not know', () => {
    expectOnnxError(() => validateModel(matmulModel({ irVersion: 14n }), 'm'), 'unsupported-ir', /IR version 14; supported: 3 to 13/);
    expectOnnxError(() => validateModel(matmulModel({ irVersion: 2n }), 'm'), 'unsupported-ir', /IR version 2; supported: 3 to 13/);
    expectOnnxError(() => validateModel(matmulModel({ opset: 26n }), 'm'), 'unsupported-opset', /opset 26; supported: 1 to 25/);
    expect(() => validateModel(matmulModel({ irVersion: 11n, opset: 24n }), 'm')).not.toThrow();
    expect(() => validateModel(matmulModel({ irVersion: 13n, opset: 25n }), 'm')).not.toThrow(); // ONNX 1.20
  });

  it('checks external data files exist and hold the bytes a tensor reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fa-onnx-ext-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(48));
    const write = (name: string, loc: string, offset = 0n) =>
      writeFileSync(join(dir, name), encode(matmulModel({ weight: externalWeight(loc, offset) })));
    write('ok.onnx', 'w.bin');
    expect(() => readModelFile(join(dir, 'ok.onnx'))).not.toThrow();
    write('missing.onnx', 'gone.bin');
    expectOnnxError(() => readModelFile(join(dir, 'missing.onnx')), 'missing-external-file', /initializer 'W' keeps its data in 'gone.bin', which does not exist/);
    write('range.onnx', 'w.bin', 8n);
    expectOnnxError(() => readModelFile(join(dir, 'range.onnx')), 'external-out-of-range', /reads bytes 8..56 of 'w.bin', but that file has 48 bytes/);
  });
});
