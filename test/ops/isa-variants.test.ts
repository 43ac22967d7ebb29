// The CPU kernel has AVX-512, AVX2 and SSE2 variants of its inner loops, picked once per process by the
// CPU (ops/cpu/microkernels.cc). This machine runs only the widest one, so the shape tests run again in
// child processes with FA_ONNX_CPU_ISA capping the choice.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const vitestBin = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const root = path.resolve(import.meta.dirname, '..', '..');

describe('CPU kernel variants', () => {
  for (const isa of ['v3', 'base']) {
    it(`FA_ONNX_CPU_ISA=${isa}: shapes, layouts and dtypes match the reference`, () => {
      const r = spawnSync(
        process.execPath,
        [vitestBin, 'run', 'test/ops/flash-attention.test.ts', '-t', 'shapes, layouts, dtypes|shared key tiles', '--reporter=dot', '--reporter=./test/summary-reporter.ts'],
        { cwd: root, env: { ...process.env, FA_ONNX_CPU_ISA: isa, NO_COLOR: '1', FORCE_COLOR: '0' }, encoding: 'utf8', timeout: 120_000 },
      );
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.status, out).toBe(0);
      // The summary line of test/summary-reporter.ts: the selected cases (the rest are filtered out) passed.
      const m = /vitest: (\d+) passed, 0 failed/.exec(out);
      expect(m, out).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(15);
    });
  }
});
