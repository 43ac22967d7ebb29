/** Where a command writes: the real process streams, or buffers in tests. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress is shown only then). */
  errIsTTY: boolean;
}

export const processIO: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  errIsTTY: Boolean(process.stderr.isTTY),
};

/** Exit statuses, the same for every command (listed in --help). */
export const EXIT = {
  ok: 0,
  mismatch: 1,
  usage: 2,
  badInput: 3,
  writeFailed: 4,
  internal: 5,
} as const;

/** A problem with how the command was called: printed with a pointer to --help. */
export class UsageError extends Error {}

/** A problem with a file the user gave (not a model: .npy inputs, ...). */
export class InputError extends Error {}
