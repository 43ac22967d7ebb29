// End to end on the bundled corpus: rewrite every model, verify it against its original on the CPU
// provider, and count the attention sites fused.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './run-cli.js';
import { tempDir } from './temp-dir.js';

/** Fused sites required across the corpus; raised as fusion passes land, never lowered. */
const FUSED_SITES_FLOOR = 82;

const models = readdirSync('models/corpus').filter((f) => f.endsWith('.onnx')).sort();
let fusedSites = 0;
let allSites = 0;

describe('rewrite --verify on every corpus model', () => {
  afterAll(() => console.log(`corpus: ${fusedSites} of ${allSites} attention sites fused`));

  it.each(models)('%s', async (name) => {
    const out = join(tempDir(), name.replace(/\.onnx$/, '.fa.onnx'));
    const r = await cli('rewrite', join('models/corpus', name), '-o', out, '--json', '--verify');
    expect(r.code, r.stderr || r.stdout).toBe(0);
    const report = JSON.parse(r.stdout);
    fusedSites += report.summary.fused;
    allSites += report.summary.sites;
    expect(report.verify.ok).toBe(true);
  });

  it('fuses at least the floor', () => expect(fusedSites).toBeGreaterThanOrEqual(FUSED_SITES_FLOOR));
});
