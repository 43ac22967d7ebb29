// ONNX's 124 test_attention_* conformance cases through the rewriter (see run-case.ts).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, validateModel } from '../../src/onnx/index.js';
import { caseNames, loadCase, TESTDATA } from './cases.js';
import { resultsTable, runCase, type CaseResult } from './run-case.js';

/** Fused-and-matching cases required; raised as fusion passes land, never lowered. */
const FUSED_FLOOR = 105;

const names = caseNames('test_attention_');
if (names.length === 0) {
  console.warn(`\n!!! ONNX conformance data missing: ${TESTDATA} does not exist. ` +
    'Run `npm run build:native` (it fetches Debian\'s libonnx-testdata) or ' +
    '`scripts/fetch-debian-headers.sh .deps/debian libonnx-testdata`. THE CONFORMANCE CASES ARE NOT RUN. !!!\n');
}

describe.skipIf(names.length === 0)('ONNX conformance: test_attention_*', () => {
  const work = mkdtempSync(join(tmpdir(), 'fa-onnx-conformance-'));
  const results: CaseResult[] = [];
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync('bench/out', { recursive: true });
    writeFileSync('bench/out/conformance-attention.md', resultsTable(results));
  });

  it('has all 124 cases', () => expect(names.length).toBe(124));

  it('decodes, validates and encodes every case model byte-identically', () => {
    for (const name of names) {
      const bytes = new Uint8Array(readFileSync(join(TESTDATA, name, 'model.onnx')));
      const model = decodeModel(bytes);
      expect(() => validateModel(model, name)).not.toThrow();
      expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });

  it.each(names)('%s', async (name) => {
    const r = await runCase(loadCase(name), work);
    results.push(r);
    // Every case is fused and matching, or reported unfusable with a reason.
    expect(r.status, `${name}: ${r.detail}`).toMatch(/^(fused|unfusable)$/);
    if (r.status === 'unfusable') expect(r.detail, `${name} is unfusable without a reason`).not.toBe('');
  });

  it('fuses at least the floor', () => {
    expect(existsSync(work)).toBe(true);
    expect(results.filter((r) => r.status === 'fused').length).toBeGreaterThanOrEqual(FUSED_FLOOR);
  });
});
