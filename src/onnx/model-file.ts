import { randomBytes } from 'node:crypto';
import {
  closeSync, constants, copyFileSync, existsSync, fsyncSync, openSync, readFileSync, realpathSync,
  renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { PROTOBUF_LIMIT, decodeModel, encodeModel, formatBytes } from './codec.js';
import { OnnxError } from './errors.js';
import { externalPath, externalTensors, setExternalLocation } from './external-data.js';
import { validateModel } from './validate.js';

export interface LoadedModel {
  model: ModelProto;
  path: string;
  /** The folder external data locations are relative to. */
  baseDir: string;
  /** Size of the protobuf file itself (external data not counted). */
  byteLength: number;
}

/** Reads, decodes and validates a model file; external data is checked (by size) but never read. */
export function readModelFile(path: string, options: { validate?: boolean } = {}): LoadedModel {
  const abs = resolve(path);
  let size: number;
  try {
    const st = statSync(abs);
    if (st.isDirectory()) throw new OnnxError('not-onnx', `${path} is a folder, not an ONNX model file`);
    size = st.size;
  } catch (e) {
    if (e instanceof OnnxError) throw e;
    throw new OnnxError('not-found', `${path} does not exist or cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  if (size > PROTOBUF_LIMIT) {
    throw new OnnxError(
      'too-large',
      `${path} is ${formatBytes(size)}, but an ONNX protobuf cannot exceed 2 GB; models this large keep ` +
        'their weights in external data files (save it with external data)',
    );
  }
  const model = decodeModel(readFileSync(abs), path);
  const baseDir = dirname(abs);
  if (options.validate !== false) validateModel(model, path, { baseDir });
  return { model, path: abs, baseDir, byteLength: size };
}

export interface WriteOptions {
  /** Folder the model's external data locations are relative to now (the input model's folder). */
  sourceDir: string;
  /** Copy external data files next to the output instead of pointing at the originals. */
  copyExternalData?: boolean;
}

/**
 * Writes a model atomically: everything goes to temporary files in the output's folder first and is
 * renamed into place only when all of it is written, so a failure leaves no partial file behind.
 * External data stays valid: locations are rewritten relative to the output's folder, or the data
 * files are copied next to it. The model object is left as it was given.
 */
export function writeModelFile(model: ModelProto, outPath: string, options: WriteOptions): void {
  const out = resolve(outPath);
  const outDir = dirname(out);
  const sites = externalTensors(model);
  const original = sites.map((s) => s.ref.location);
  const temps: string[] = [];
  const created: string[] = [];
  try {
    checkWritableTarget(out, outPath);
    const renames: Array<[string, string]> = [];
    if (options.copyExternalData) {
      const copies = new Map<string, string>(); // source file -> new location
      const taken = new Set([basename(out)]);
      for (const s of sites) {
        const src = externalPath(options.sourceDir, s.ref.location);
        let name = copies.get(src);
        if (name === undefined) {
          name = uniqueName(basename(src), taken);
          const dest = join(outDir, name);
          if (!sameFile(src, dest)) {
            const tmp = tempName(dest);
            temps.push(tmp);
            // FICLONE: a reflink where the file system has them, a plain copy elsewhere.
            copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
            renames.push([tmp, dest]);
          }
          copies.set(src, name);
        }
        setExternalLocation(s.tensor, name);
      }
    } else {
      for (const s of sites) {
        const src = externalPath(options.sourceDir, s.ref.location);
        const rel = relative(outDir, src);
        // ONNX Runtime refuses external data outside the model's folder (and absolute paths).
        if (rel.startsWith('..') || isAbsolute(rel)) {
          throw new OnnxError(
            'write-failed',
            `cannot write ${outPath}: its external data ${src} would lie outside the output's folder, ` +
              'which ONNX Runtime refuses to load; write the output in that folder (or one above it), ' +
              'or copy the data next to it (--copy-external-data)',
          );
        }
        setExternalLocation(s.tensor, rel.split(sep).join('/'));
      }
    }
    const bytes = encodeModel(model);
    const tmp = tempName(out);
    temps.push(tmp);
    writeFully(tmp, bytes);
    renames.push([tmp, out]);
    // Data files first, the model last: a model never points at data that is not there yet.
    for (const [from, to] of renames) {
      if (!existsSync(to)) created.push(to);
      renameSync(from, to);
    }
  } catch (e) {
    for (const f of [...temps, ...created]) {
      try { unlinkSync(f); } catch { /* already gone */ }
    }
    if (e instanceof OnnxError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new OnnxError('write-failed', `cannot write ${outPath}: ${describeErrno(err)}`);
  } finally {
    sites.forEach((s, i) => setExternalLocation(s.tensor, original[i]!));
  }
}

function checkWritableTarget(out: string, shown: string): void {
  const dir = dirname(out);
  let st;
  try { st = statSync(dir); } catch {
    throw new OnnxError('write-failed', `cannot write ${shown}: folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new OnnxError('write-failed', `cannot write ${shown}: ${dir} is not a folder`);
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new OnnxError('write-failed', `cannot write ${shown}: it is a folder`);
  }
}

function describeErrno(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'read-only file system';
    case 'ENOENT': return 'a file or folder it needs does not exist';
    default: return e.message;
  }
}

function tempName(final: string): string {
  return join(dirname(final), `.${basename(final)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 1; taken.has(candidate); i++) candidate = `${i}_${name}`;
  taken.add(candidate);
  return candidate;
}

function sameFile(a: string, b: string): boolean {
  try { return realpathSync(a) === realpathSync(b); } catch { return false; }
}

function writeFully(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
