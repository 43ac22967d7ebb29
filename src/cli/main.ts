#!/usr/bin/env node
// fa-onnx: rewrite ONNX models to use FlashAttention operators, verify them, inspect them.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OnnxError } from '../onnx/index.js';
import { inspectCommand, inspectHelp } from './commands/inspect.js';
import { rewriteCommand, rewriteHelp } from './commands/rewrite.js';
import { verifyCommand, verifyHelp } from './commands/verify.js';
import { EXIT, InputError, processIO, UsageError, type CliIO } from './io.js';

export const mainHelp = `Usage: fa-onnx COMMAND [options]

Puts FlashAttention operators into ONNX models and proves the result computes the same thing.

Commands:
  rewrite IN [-o OUT]          fuse the attention in a model, write it, report every site
  verify ORIGINAL REWRITTEN    run both models on the same inputs, report the error per output
  inspect IN                   list the attention sites and what each would become

Run 'fa-onnx COMMAND --help' for a command's options.
Exit status: 0 ok, 1 outputs beyond tolerance, 2 bad usage, 3 bad model or input file,
4 output not writable, 5 internal error.
`;

const COMMANDS: Record<string, [(argv: string[], io: CliIO) => Promise<number>, string]> = {
  rewrite: [rewriteCommand, rewriteHelp],
  verify: [verifyCommand, verifyHelp],
  inspect: [inspectCommand, inspectHelp],
};

/** The whole CLI as a function: tests call it in-process; the bin calls it with process.argv. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.out(mainHelp);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`fa-onnx: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see fa-onnx --help)\n`);
    return EXIT.usage;
  }
  try {
    return await command[0](rest, io);
  } catch (e) {
    if (io.errIsTTY) io.err('\r\x1b[2K'); // clear a progress line left mid-way
    if (e instanceof UsageError) {
      io.err(`fa-onnx ${name}: ${e.message} (see fa-onnx ${name} --help)\n`);
      return EXIT.usage;
    }
    if (e instanceof OnnxError) {
      io.err(`fa-onnx ${name}: error: ${e.message}\n`);
      return e.code === 'write-failed' ? EXIT.writeFailed : EXIT.badInput;
    }
    if (e instanceof InputError) {
      io.err(`fa-onnx ${name}: error: ${e.message}\n`);
      return EXIT.badInput;
    }
    io.err(`fa-onnx ${name}: internal error: ${(e as Error).message}\n`);
    if (process.env.FA_ONNX_DEBUG) io.err(`${(e as Error).stack}\n`);
    return EXIT.internal;
  }
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
