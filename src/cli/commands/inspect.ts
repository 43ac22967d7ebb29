import { inspectModel } from '../../rewriter/index.js';
import { flag, oneOf, parse, positionals, str } from '../args.js';
import { EXIT, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { Progress } from '../progress.js';
import { formatSites, summarize } from '../site-report.js';

export const inspectHelp = `Usage: fa-onnx inspect IN [options]

Lists the attention sites in a model and what each would become (a fused operator and its
attributes), or why it would be left as it is. Writes nothing.

Options:
  --target cpu|cuda                  provider the rewrite would target (default: cuda)
  --compute-dtype keep|float16|bfloat16   precision the rewrite would compute in (default: keep)
  --json                             machine-readable report on stdout
  -h, --help                         this help

Exit status: 0 ok, 2 bad usage, 3 bad model file.
`;

export async function inspectCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean' }, target: { type: 'string' }, 'compute-dtype': { type: 'string' } });
  if (flag(p, 'help')) {
    io.out(inspectHelp);
    return EXIT.ok;
  }
  const [input] = positionals(p.positionals, ['IN']);
  const options = {
    target: oneOf(str(p, 'target'), ['cpu', 'cuda'] as const, '--target', 'cuda'),
    computeDtype: oneOf(str(p, 'compute-dtype'), ['keep', 'float16', 'bfloat16'] as const, '--compute-dtype', 'keep'),
  };
  const progress = new Progress(io, input!);
  const { model } = loadModel(input!, progress);
  progress.stage('finding attention sites');
  const sites = inspectModel(model, options);
  progress.done();
  const summary = summarize(sites);
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ input, options, summary, sites }, null, 2) + '\n');
  } else {
    io.out(`${input}: ${summary.sites} attention sites, ${summary.fused} would fuse, ${summary.skipped} would be left as they are\n`);
    io.out(formatSites(sites, 'would fuse'));
  }
  return EXIT.ok;
}
