// Fresh folders for a test file, removed when it ends.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

export function tempDir(): string {
  made.push(mkdtempSync(join(tmpdir(), 'fa-onnx-cli-')));
  return made[made.length - 1]!;
}

/** A corpus model copied into a fresh folder (so default output names land there). */
export function corpusCopy(name: string): string {
  const path = join(tempDir(), basename(name));
  copyFileSync(join('models/corpus', name), path);
  return path;
}
