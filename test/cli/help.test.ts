import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';

describe('fa-onnx help', () => {
  it('lists the commands, and exits 2 without one', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rewrite IN.*\n.*verify ORIGINAL REWRITTEN.*\n.*inspect IN/s);
    expect((await cli()).code).toBe(2);
  });

  it.each(['rewrite', 'verify', 'inspect'])('has --help for %s', async (command) => {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: fa-onnx ${command} `));
    expect(r.stdout).toMatch(/Exit status:/);
  });

  it('states the default tolerances in verify --help', async () => {
    expect((await cli('verify', '-h')).stdout).toMatch(/float32 rtol 1e-4.*float16\/bfloat16 rtol 1e-2/s);
  });

  it('rejects unknown commands and options with exit 2', async () => {
    const a = await cli('frobnicate');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown command 'frobnicate'/);
    const b = await cli('rewrite', 'x.onnx', '--bogus');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--bogus.*see fa-onnx rewrite --help/);
    const c = await cli('rewrite', 'x.onnx', '--target', 'tpu');
    expect(c.stderr).toMatch(/--target must be one of cpu, cuda \(got 'tpu'\)/);
    const d = await cli('verify', 'only-one.onnx');
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/missing REWRITTEN/);
  });

  it('is an executable node script named in package.json', () => {
    expect(readFileSync('src/cli/main.ts', 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(JSON.parse(readFileSync('package.json', 'utf8')).bin['fa-onnx']).toBe('dist/esm/cli/main.js');
  });
});
