import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node's parseArgs, strict, with its errors turned into UsageErrors that read well. */
export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options): Parsed {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, dflt: T): T {
  if (value === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value as T;
}

export function positiveInt(value: string | undefined, flag: string, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer (got '${value}')`);
  return n;
}

export function nonNegativeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a non-negative number (got '${value}')`);
  return n;
}

export function positionals(got: string[], names: string[]): string[] {
  if (got.length !== names.length) {
    const want = names.join(' ');
    throw new UsageError(got.length < names.length ? `missing ${names.slice(got.length).join(' ')} (expected ${want})` : `unexpected argument '${got[names.length]}' (expected ${want})`);
  }
  return got;
}

export const str = (p: Parsed, k: string) => p.values[k] as string | undefined;
export const flag = (p: Parsed, k: string) => p.values[k] === true;
export const list = (p: Parsed, k: string) => (p.values[k] as string[] | undefined) ?? [];
