import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { externalTensors, readModelFile } from '../../src/onnx/index.js';
import { withExternalData } from './external-model.js';
import { cli } from './run-cli.js';
import { corpusCopy, tempDir } from './temp-dir.js';

const countOps = (path: string, domain: string) => readModelFile(path).model.graph!.node.filter((n) => n.domain === domain).length;

describe('fa-onnx rewrite', () => {
  it('writes IN.fa.onnx next to the input and reports every site', async () => {
    const input = corpusCopy('gpt2.ts17_eager.onnx');
    const r = await cli('rewrite', input);
    expect(r.code).toBe(0);
    const output = input.replace(/\.onnx$/, '.fa.onnx');
    expect(r.stdout).toMatch(/gpt2.ts17_eager.onnx: (\d+) attention sites, (\d+) fused, (\d+) left as they are/);
    expect(r.stdout).toContain(`wrote ${output}`);
    const [, sites, fused] = /(\d+) attention sites, (\d+) fused/.exec(r.stdout)!.map(Number);
    expect(r.stdout.split('\n').filter((l) => /^\s+\S+\s+\S+\s+(fused ->|left as is: .+)/.test(l))).toHaveLength(sites!);
    expect(countOps(output, 'fa_onnx')).toBe(fused);
  });

  it('--json gives the same sites inspect announces', async () => {
    const input = corpusCopy('llama.ts17_eager.onnx');
    const out = join(tempDir(), 'out.onnx');
    const r = await cli('rewrite', input, '-o', out, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.output).toBe(out);
    expect(report.summary.sites).toBe(report.sites.length);
    for (const s of report.sites) {
      expect(s.status === 'fused' ? s.op : s.reason).toBeTruthy();
    }
    const inspected = JSON.parse((await cli('inspect', input, '--json')).stdout);
    expect(inspected.sites.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual(
      report.sites.map((s: { id: string; status: string }) => [s.id, s.status]));
  });

  it('keeps external data valid: next to the output, or copied when asked', async () => {
    const dir = tempDir();
    const input = withExternalData('models/corpus/bert.ts17_eager.onnx', dir);
    const same = await cli('rewrite', input, '--verify');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/verify: ok/);
    expect(externalTensors(readModelFile(join(dir, 'model.fa.onnx')).model)[0]!.ref.location).toBe('model.onnx.data');

    const elsewhere = join(tempDir(), 'sub');
    mkdirSync(elsewhere);
    const refused = await cli('rewrite', input, '-o', join(elsewhere, 'out.onnx'));
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/outside the output's folder.*--copy-external-data/);
    expect(readdirSync(elsewhere)).toEqual([]);

    const copied = await cli('rewrite', input, '-o', join(elsewhere, 'out.onnx'), '--copy-external-data', '--verify');
    expect(copied.code, copied.stderr).toBe(0);
    expect(readdirSync(elsewhere).sort()).toEqual(['model.onnx.data', 'out.onnx']);
  });
});

describe('fa-onnx inspect', () => {
  it('lists sites and writes nothing', async () => {
    const input = corpusCopy('bert.ts17_sdpa.onnx');
    const r = await cli('inspect', input);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bert.ts17_sdpa.onnx: \d+ attention sites, \d+ would fuse/);
    expect(existsSync(input.replace(/\.onnx$/, '.fa.onnx'))).toBe(false);
  });
});
