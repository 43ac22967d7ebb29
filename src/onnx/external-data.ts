import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { TensorProto_DataLocation, type ModelProto, type TensorProto } from 'onnx-buf';
import { rawByteLength } from './dtype.js';
import { OnnxError } from './errors.js';
import { allTensors, type TensorSite } from './walk.js';

/** Where a tensor's bytes live outside the model file (ONNX external_data keys). */
export interface ExternalRef {
  location: string;
  offset: bigint;
  /** Explicit `length`, or the size the tensor's type and shape imply. */
  length: bigint | undefined;
}

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === TensorProto_DataLocation.EXTERNAL;
}

export function externalRef(t: TensorProto): ExternalRef {
  const get = (k: string) => t.externalData.find((e) => e.key === k)?.value;
  const location = get('location') ?? '';
  const offset = BigInt(get('offset') ?? '0');
  const len = get('length');
  return { location, offset, length: len !== undefined ? BigInt(len) : rawByteLength(t.dataType, t.dims) };
}

export function setExternalLocation(t: TensorProto, location: string): void {
  const entry = t.externalData.find((e) => e.key === 'location');
  if (entry) entry.value = location;
}

export interface ExternalSite extends TensorSite {
  ref: ExternalRef;
}

export function externalTensors(model: ModelProto): ExternalSite[] {
  return allTensors(model)
    .filter((s) => isExternal(s.tensor))
    .map((s) => ({ ...s, ref: externalRef(s.tensor) }));
}

/** Absolute path of an external data file: locations are relative to the model's folder. */
export function externalPath(baseDir: string, location: string): string {
  return isAbsolute(location) ? location : resolve(baseDir, location);
}

/**
 * Checks that every external data file exists and holds the bytes each tensor reads.
 * Only the files' sizes are read, never their contents.
 */
export function checkExternalData(model: ModelProto, baseDir: string): void {
  const sizes = new Map<string, bigint | null>();
  for (const site of externalTensors(model)) {
    const { location, offset, length } = site.ref;
    if (!location) {
      throw new OnnxError('missing-external-file', `${site.where} is stored externally but names no location`);
    }
    const path = externalPath(baseDir, location);
    if (!sizes.has(path)) {
      try {
        const st = statSync(path, { bigint: true });
        sizes.set(path, st.isFile() ? st.size : null);
      } catch {
        sizes.set(path, null);
      }
    }
    const size = sizes.get(path);
    if (size === null || size === undefined) {
      throw new OnnxError(
        'missing-external-file',
        `${site.where} keeps its data in '${location}', which does not exist (looked for ${path})`,
      );
    }
    const end = offset + (length ?? 0n);
    if (offset < 0n || end > size) {
      throw new OnnxError(
        'external-out-of-range',
        `${site.where} reads bytes ${offset}..${end} of '${location}', but that file has ${size} bytes`,
      );
    }
  }
}

/** Reads one external tensor's bytes (for small constants a pass must see; never for weights in bulk). */
export function readExternalBytes(t: TensorProto, baseDir: string): Uint8Array {
  const { location, offset, length } = externalRef(t);
  if (length === undefined) throw new OnnxError('external-out-of-range', `tensor '${t.name}' has no length`);
  const out = new Uint8Array(Number(length));
  const fd = openSync(externalPath(baseDir, location), 'r');
  try {
    let done = 0;
    while (done < out.length) {
      const n = readSync(fd, out, done, out.length - done, Number(offset) + done);
      if (n === 0) throw new OnnxError('external-out-of-range', `tensor '${t.name}': '${location}' ends early`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
