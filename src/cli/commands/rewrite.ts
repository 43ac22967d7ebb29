import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeModelFile } from '../../onnx/index.js';
import { rewriteModel } from '../../rewriter/index.js';
import { flag, oneOf, parse, positionals, str } from '../args.js';
import { EXIT, UsageError, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { Progress } from '../progress.js';
import { formatSites, summarize } from '../site-report.js';
import { formatVerifyReport, jsonNumbers, parseVerifyOptions, verifyFlags, verifyModels, type VerifyReport } from './verify.js';

export const rewriteHelp = `Usage: fa-onnx rewrite IN [-o OUT] [options]

Replaces the attention subgraphs of an ONNX model with fa-onnx FlashAttention operators, writes
the result (atomically: a failure leaves no partial file) and reports every attention site: what
it became, or why it was left as it is.

Options:
  -o, --output OUT          where to write (default: IN with .fa.onnx, model.onnx -> model.fa.onnx)
  --target cpu|cuda         provider the model is meant for (default: cuda): sites whose head
                            dims its kernels do not take stay as they are, with the reason
                            (CUDA: multiples of 8 up to 256; CPU: 1 to 512; ops/README.md)
  --compute-dtype keep|float16|bfloat16
                            precision of the fused attention (default: keep: every tensor keeps
                            its type, an fp32 model stays fp32). float16/bfloat16 casts around the
                            fused operator, for fp32 models on GPUs
  --copy-external-data      copy external weight files next to OUT. Without it OUT refers to the
                            original files, which must then lie in OUT's folder or below it
                            (ONNX Runtime reads external data only from the model's folder)
  --verify                  afterwards, run IN and OUT on the same generated inputs and compare
                            (see fa-onnx verify --help; its --provider, --batch, --seq, --seed,
                            --input, --atol, --rtol apply)
  --json                    machine-readable report on stdout
  -h, --help                this help

Exit status: 0 written (and verified), 1 --verify found outputs beyond tolerance, 2 bad usage,
3 bad model file, 4 output not writable, 5 internal error.
`;

export function defaultOutput(input: string): string {
  return input.endsWith('.onnx') ? `${input.slice(0, -5)}.fa.onnx` : `${input}.fa.onnx`;
}

export async function rewriteCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, {
    output: { type: 'string', short: 'o' }, json: { type: 'boolean' }, target: { type: 'string' },
    'compute-dtype': { type: 'string' }, 'copy-external-data': { type: 'boolean' }, verify: { type: 'boolean' },
    ...verifyFlags,
  });
  if (flag(p, 'help')) {
    io.out(rewriteHelp);
    return EXIT.ok;
  }
  const [input] = positionals(p.positionals, ['IN']);
  const output = str(p, 'output') ?? defaultOutput(input!);
  const options = {
    target: oneOf(str(p, 'target'), ['cpu', 'cuda'] as const, '--target', 'cuda'),
    computeDtype: oneOf(str(p, 'compute-dtype'), ['keep', 'float16', 'bfloat16'] as const, '--compute-dtype', 'keep'),
  };
  const verifyOptions = flag(p, 'verify') ? parseVerifyOptions(p) : undefined;
  if (existsSync(input!) && existsSync(output) && realpathSync(input!) === realpathSync(output)) {
    throw new UsageError(`the output ${output} is the input file; write the rewritten model elsewhere`);
  }

  const progress = new Progress(io, input!);
  const loaded = loadModel(input!, progress);
  progress.stage('rewriting attention');
  const { model, sites } = rewriteModel(loaded.model, options);
  progress.stage(`writing ${output}`);
  writeModelFile(model, output, { sourceDir: loaded.baseDir, copyExternalData: flag(p, 'copy-external-data') });
  progress.done();

  let verify: VerifyReport | undefined;
  if (verifyOptions) verify = await verifyModels(input!, output, verifyOptions, io);
  const summary = summarize(sites);
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ input, output: resolve(output), options, summary, sites, ...(verify ? { verify } : {}) }, jsonNumbers, 2) + '\n');
  } else {
    io.out(`${input}: ${summary.sites} attention sites, ${summary.fused} fused, ${summary.skipped} left as they are\n`);
    io.out(formatSites(sites, 'fused'));
    io.out(`wrote ${output}\n`);
    if (verify) io.out(formatVerifyReport(verify));
  }
  return verify && !verify.ok ? EXIT.mismatch : EXIT.ok;
}
