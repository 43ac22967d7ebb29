// One conformance case through the rewriter: confirm the data with stock ONNX Runtime, rewrite,
// run the rewritten model with the fa-onnx ops, compare with the expected outputs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor as OrtTensor } from 'onnxruntime-common';
import ortNode from 'onnxruntime-node';
import { compareOutput } from '../../src/cli/compare.js';
import { createSession } from '../../src/loader/index.js';
import { encodeModel, type TensorValues } from '../../src/onnx/index.js';
import { rewriteModel } from '../../src/rewriter/index.js';
import type { ConformanceCase } from './cases.js';

export type CaseStatus = 'fused' | 'unfusable' | 'mismatch' | 'error';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  /** Why a case is unfusable, or what went wrong. */
  detail: string;
  /** Whether stock ONNX Runtime reproduces the expected outputs (confirms the data). */
  ortMatches: boolean | string;
  maxRelError?: number;
}

type Outputs = Map<string, { type: string; dims: readonly number[]; data: ArrayLike<number | bigint> }>;

interface RunnableSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; dims: readonly number[]; data: unknown }>>;
  release(): Promise<void>;
}

async function runWith(session: RunnableSession, c: ConformanceCase, makeTensor: (t: TensorValues) => unknown): Promise<Outputs> {
  try {
    const feeds: Record<string, unknown> = {};
    for (const n of session.inputNames) {
      const t = c.inputs.get(n);
      if (!t) throw new Error(`the case gives no value for input '${n}'`);
      feeds[n] = makeTensor(t);
    }
    const r = await session.run(feeds);
    return new Map(session.outputNames.map((n) => [n, { type: r[n]!.type, dims: r[n]!.dims, data: r[n]!.data as ArrayLike<number> }]));
  } finally {
    await session.release();
  }
}

/** Every expected output matches: the largest relative error, or a description of the first miss. */
function check(expected: Map<string, TensorValues>, got: Outputs): { ok: boolean; maxRel: number; problem: string } {
  let maxRel = 0;
  for (const [name, e] of expected) {
    const g = got.get(name);
    if (!g) return { ok: false, maxRel: Infinity, problem: `output '${name}' missing` };
    const c = compareOutput(name, e, g); // verify's defaults: fp32 1e-4, fp16 1e-2 of the output's scale
    maxRel = Math.max(maxRel, c.maxRelError);
    if (!c.ok) return { ok: false, maxRel, problem: `output '${name}': ${c.problem ?? `max rel error ${c.maxRelError.toExponential(2)}`}` };
  }
  return { ok: true, maxRel, problem: '' };
}

export async function runCase(c: ConformanceCase, workDir: string): Promise<CaseResult> {
  let ortMatches: boolean | string;
  try {
    const s = await ortNode.InferenceSession.create(encodeModel(c.model), { logSeverityLevel: 3 });
    const r = check(c.outputs, await runWith(s as unknown as RunnableSession, c, (t) => new ortNode.Tensor(t.type, t.data, t.dims)));
    ortMatches = r.ok || r.problem;
  } catch (e) {
    ortMatches = `ORT fails: ${short((e as Error).message)}`;
  }
  const base = { name: c.name, ortMatches };
  let rewritten;
  try {
    rewritten = rewriteModel(c.model, { target: 'cpu' });
  } catch (e) {
    return { ...base, status: 'error', detail: `rewrite threw: ${(e as Error).message}` };
  }
  const fused = rewritten.sites.filter((s) => s.status === 'fused');
  if (fused.length === 0) {
    const reasons = rewritten.sites.map((s) => s.reason).filter(Boolean);
    return { ...base, status: 'unfusable', detail: reasons.length ? reasons.join('; ') : '' };
  }
  const path = join(workDir, `${c.name}.fa.onnx`);
  writeFileSync(path, encodeModel(rewritten.model));
  try {
    const s = await createSession(path, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const r = check(c.outputs, await runWith(s as unknown as RunnableSession, c, (t) => new OrtTensor(t.type, t.data, t.dims)));
    return r.ok
      ? { ...base, status: 'fused', detail: fused.map((s) => s.op ?? '').join(', '), maxRelError: r.maxRel }
      : { ...base, status: 'mismatch', detail: r.problem, maxRelError: r.maxRel };
  } catch (e) {
    return { ...base, status: 'error', detail: `the rewritten model does not run: ${short((e as Error).message)}` };
  }
}

const short = (m: string) => (m.length > 240 ? `${m.slice(0, 240)}...` : m).replace(/\s+/g, ' ');

export function resultsTable(results: CaseResult[]): string {
  const counts = (s: CaseStatus) => results.filter((r) => r.status === s).length;
  const lines = [
    `${results.length} cases: ${counts('fused')} fused and matching, ${counts('unfusable')} unfusable (with a reason), ` +
      `${counts('mismatch')} mismatching, ${counts('error')} errors; stock ONNX Runtime matches ${results.filter((r) => r.ortMatches === true).length}.`,
    '',
    '| case | result | detail | stock ORT matches the data |',
    '| --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const err = r.maxRelError !== undefined && Number.isFinite(r.maxRelError) ? ` (max rel err ${r.maxRelError.toExponential(1)})` : '';
    lines.push(`| ${r.name.replace(/^test_attention_/, '')} | ${r.status} | ${r.detail.replace(/\|/g, '\\|')}${err} | ${r.ortMatches === true ? 'yes' : `no: ${String(r.ortMatches).replace(/\|/g, '\\|')}`} |`);
  }
  return lines.join('\n') + '\n';
}
