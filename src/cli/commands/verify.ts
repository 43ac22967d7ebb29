import { compareOutput, outputTolerance, type OutputComparison, type Tolerance } from '../compare.js';
import { nonNegativeNumber, oneOf, parse, positionals, positiveInt, list, str, flag } from '../args.js';
import { generateInputs, graphInputs, roleOf } from '../generate-inputs.js';
import { EXIT, UsageError, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { readNpy } from '../npy.js';
import { Progress } from '../progress.js';
import { runModel, type Provider } from '../session.js';
import type { HostTensor } from '../tensors.js';

export const verifyHelp = `Usage: fa-onnx verify ORIGINAL REWRITTEN [options]

Runs both models on the same inputs and reports the largest error of every output.
Exits with status 1 when any output differs beyond the tolerance.

Inputs are generated to respect what each input means, unless given with --input:
  token ids (input_ids, decoder_input_ids, ...)  uniform below the vocabulary size, read from the
                                                 embedding table the ids index
  attention masks (*mask*)                       ones, with trailing padding on every other batch
                                                 item (never a fully masked row)
  positions (position_ids, cache_position)       0 .. length-1
  token types                                    0 then 1
  float inputs (pixel values, features, ...)     random normal
Symbolic dims take --batch (batch-like names and the leading dim) or --seq (the rest); cache
lengths (past_*) --seq and totals their sum; image heights/widths 224; raw audio (input_values,
audio, waveform) 16000 samples.

Options:
  --provider cpu|cuda     execution provider for both models (default: cpu)
  --input NAME=FILE.npy   the value of input NAME (repeatable); converted to the input's type
  --batch N               batch size for generated inputs (default: 2)
  --seq N                 sequence length for generated inputs (default: 16)
  --seed N                seed of the generated inputs (default: 1)
  --atol X, --rtol X      tolerance: an output passes when max|a-b| <= atol + rtol * max|original|.
                          Defaults by output type: float32 rtol 1e-4, atol 1e-6 (fp32 models);
                          float16/bfloat16 rtol 1e-2, atol 1e-3 (fp16 models, looser); with
                          --provider cuda, float32 outputs too when the rewritten model has fa_onnx
                          ops (float32 attention on CUDA reads its inputs at bfloat16 precision)
  --json                  machine-readable report on stdout
  -h, --help              this help

Exit status: 0 within tolerance, 1 beyond it, 2 bad usage, 3 bad model or input file.
`;

export interface VerifyOptions {
  provider: Provider;
  batch: number;
  seq: number;
  seed: number;
  given: Map<string, HostTensor>;
  tolerance: Partial<Tolerance>;
}

export interface VerifyReport {
  original: string;
  rewritten: string;
  provider: Provider;
  inputs: Array<{ name: string; type: string; dims: number[]; source: string }>;
  notes: string[];
  outputs: OutputComparison[];
  ok: boolean;
}

export const defaultVerifyOptions = (): VerifyOptions => ({ provider: 'cpu', batch: 2, seq: 16, seed: 1, given: new Map(), tolerance: {} });

/** Runs both models (already validated by the caller or here) and compares every output. */
export async function verifyModels(originalPath: string, rewrittenPath: string, opts: VerifyOptions, io: CliIO): Promise<VerifyReport> {
  const progress = new Progress(io, originalPath);
  const original = loadModel(originalPath, progress);
  const rewritten = loadModel(rewrittenPath, progress);
  const { inputs, notes } = generateInputs(original.model, opts, opts.given);
  const rewrittenInputs = graphInputs(rewritten.model).map((s) => s.name).sort().join();
  if (rewrittenInputs !== [...inputs.keys()].sort().join()) {
    notes.push(`the models' inputs differ: original ${[...inputs.keys()].join(', ')}; rewritten ${rewrittenInputs}`);
  }
  progress.stage(`running ${originalPath}`);
  const expected = await runModel(original.path, opts.provider, inputs);
  progress.stage(`running ${rewrittenPath}`);
  const actual = await runModel(rewritten.path, opts.provider, inputs);
  progress.done();
  const reduced = opts.provider === 'cuda' && runsOurOps(rewritten.model);
  if (reduced) notes.push('float32 attention on the CUDA provider reads its inputs at bfloat16 precision: float32 outputs are held to the bfloat16 tolerance');
  const outputs: OutputComparison[] = [];
  for (const [name, e] of expected.outputs) {
    const a = actual.outputs.get(name);
    if (!a) {
      outputs.push({ name, type: e.type, dims: e.dims, maxAbsError: Infinity, maxRelError: Infinity, scale: 0,
        tolerance: { atol: 0, rtol: 0 }, ok: false, problem: 'the rewritten model has no output of this name' });
    } else outputs.push(compareOutput(name, e, a, outputTolerance(e.type, reduced, opts.tolerance)));
  }
  const specs = new Map(graphInputs(original.model).map((s) => [s.name, s]));
  return {
    original: originalPath, rewritten: rewrittenPath, provider: opts.provider,
    inputs: [...inputs].map(([name, t]) => ({ name, type: t.type, dims: t.dims,
      source: opts.given.has(name) ? 'given' : roleOf(specs.get(name)!) })),
    notes, outputs, ok: outputs.every((o) => o.ok),
  };
}

/** Whether the model holds a node of our ops domain (ops/README.md). */
function runsOurOps(model: { graph?: { node: ReadonlyArray<{ domain: string }> } }): boolean {
  return !!model.graph?.node.some((n) => n.domain === 'fa_onnx');
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));

export function formatVerifyReport(r: VerifyReport): string {
  const lines = [`inputs (${r.provider} provider):`];
  for (const i of r.inputs) lines.push(`  ${i.name}  ${i.type}[${i.dims.join(',')}]  ${i.source}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push('outputs:');
  const w = Math.max(6, ...r.outputs.map((o) => o.name.length));
  lines.push(`  ${'name'.padEnd(w)}  ${'type'.padEnd(8)}  ${'max abs err'.padEnd(11)}  ${'max rel err'.padEnd(11)}  ${'allowed'.padEnd(9)}  result`);
  for (const o of r.outputs) {
    const allowed = o.tolerance.atol + o.tolerance.rtol * o.scale;
    lines.push(`  ${o.name.padEnd(w)}  ${o.type.padEnd(8)}  ${fmt(o.maxAbsError).padEnd(11)}  ${fmt(o.maxRelError).padEnd(11)}  ${fmt(allowed).padEnd(9)}  ${o.ok ? 'ok' : 'BEYOND TOLERANCE'}${o.problem ? ` (${o.problem})` : ''}`);
  }
  const bad = r.outputs.filter((o) => !o.ok).length;
  lines.push(r.ok ? `verify: ok, ${r.outputs.length} outputs within tolerance` : `verify: FAILED, ${bad} of ${r.outputs.length} outputs beyond tolerance`);
  return lines.join('\n') + '\n';
}

export function parseVerifyOptions(p: ReturnType<typeof parse>): VerifyOptions {
  const given = new Map<string, HostTensor>();
  for (const item of list(p, 'input')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input must be NAME=FILE.npy (got '${item}')`);
    given.set(item.slice(0, eq), readNpy(item.slice(eq + 1)));
  }
  return {
    provider: oneOf(str(p, 'provider'), ['cpu', 'cuda'] as const, '--provider', 'cpu'),
    batch: positiveInt(str(p, 'batch'), '--batch', 2),
    seq: positiveInt(str(p, 'seq'), '--seq', 16),
    seed: positiveInt(str(p, 'seed'), '--seed', 1),
    given,
    tolerance: { atol: nonNegativeNumber(str(p, 'atol'), '--atol'), rtol: nonNegativeNumber(str(p, 'rtol'), '--rtol') },
  };
}

export const verifyFlags = {
  provider: { type: 'string' }, input: { type: 'string', multiple: true }, batch: { type: 'string' },
  seq: { type: 'string' }, seed: { type: 'string' }, atol: { type: 'string' }, rtol: { type: 'string' },
} as const;

export async function verifyCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, { ...verifyFlags, json: { type: 'boolean' } });
  if (flag(p, 'help')) {
    io.out(verifyHelp);
    return EXIT.ok;
  }
  const [original, rewritten] = positionals(p.positionals, ['ORIGINAL', 'REWRITTEN']);
  const report = await verifyModels(original!, rewritten!, parseVerifyOptions(p), io);
  io.out(flag(p, 'json') ? JSON.stringify(report, jsonNumbers, 2) + '\n' : formatVerifyReport(report));
  return report.ok ? EXIT.ok : EXIT.mismatch;
}

/** JSON has no Infinity/NaN: write them as strings. */
export function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}
