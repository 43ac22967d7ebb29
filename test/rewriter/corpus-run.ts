// Running a corpus model before and after the rewrite on the same realistic inputs: token ids in
// range, attention masks with padding, features in a plausible range.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-common';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType as DT, type ModelProto } from 'onnx-buf';
import { createSession } from '../../src/loader/index.js';

export interface Feed { [name: string]: ort.Tensor }

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

/** Inputs for a corpus model; `padding` puts zeros at the end ('right') or start ('left') of row 1. */
export function corpusInputs(model: ModelProto, padding: 'right' | 'left', seed = 7): Feed {
  const rand = rng(seed);
  const feed: Feed = {};
  const init = new Set(model.graph!.initializer.map((t) => t.name));
  for (const input of model.graph!.input) {
    if (init.has(input.name)) continue;
    const tt = input.type!.value.value as { elemType: number; shape?: { dim: { value: { case?: string; value?: unknown } }[] } };
    const decoder = input.name.startsWith('decoder');
    const dims = tt.shape!.dim.map((d, k) => (d.value.case === 'dimValue' ? Number(d.value.value) : k === 0 ? 2 : decoder ? 5 : 7));
    const n = dims.reduce((a, b) => a * b, 1);
    if (input.name.includes('mask')) {
      const data = new BigInt64Array(n).fill(1n);
      const seq = dims[1]!;
      const pad = Math.min(3, seq - 1);
      for (let j = 0; j < pad; j++) data[seq + (padding === 'right' ? seq - 1 - j : j)] = 0n;
      feed[input.name] = new ort.Tensor('int64', data, dims);
    } else if (tt.elemType === DT.INT64) {
      feed[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * 128))), dims);
    } else if (tt.elemType === DT.FLOAT) {
      feed[input.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rand() * 2 - 1), dims);
    } else if (tt.elemType === DT.FLOAT16) {
      // Half bits of values in [-1, 1): sign, exponent 14 or 13, random mantissa.
      feed[input.name] = new ort.Tensor('float16', Uint16Array.from({ length: n }, () => ((rand() < 0.5 ? 0x8000 : 0) | ((13 + Math.floor(rand() * 2)) << 10) | Math.floor(rand() * 1024))), dims);
    } else throw new Error(`no input generator for ${input.name} of type ${tt.elemType}`);
  }
  return feed;
}

export function toFloats(t: { type: string; data: unknown }): Float64Array {
  if (t.type === 'float16') {
    const src = t.data as Uint16Array;
    const out = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const h = src[i]!, s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, f = h & 1023;
      out[i] = e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
    }
    return out;
  }
  return Float64Array.from(t.data as Float32Array);
}

export async function runOriginal(bytes: Uint8Array, feed: Feed): Promise<Record<string, Float64Array>> {
  // Unoptimized first; some float16 graphs only load once ONNX Runtime's basic passes ran
  // (gpt2.ts17_eager_fp16: its CPU fallback inserts a Cast the unoptimized graph cannot type).
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' })
    .catch(() => ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' }));
  const out = await s.run(feed);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toFloats(t)]));
}

export async function runRewritten(model: ModelProto, feed: Feed): Promise<Record<string, Float64Array>> {
  const s = await createSession(toBinary(ModelProtoSchema, model), { graphOptimizationLevel: 'disabled' } as never);
  const feeds = Object.fromEntries(Object.entries(feed).map(([k, t]) => [k, new Tensor(t.type as 'int64', t.data as BigInt64Array, t.dims)]));
  const out = await s.run(feeds);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toFloats(t as { type: string; data: unknown })]));
}

/**
 * A model through ONNX Runtime's full CPU optimization (level "all"): the op types of the graph it
 * runs (counted, by domain:op) and its outputs on `feed`.
 */
export async function runOptimized(model: ModelProto, feed: Feed): Promise<{ ops: Map<string, number>; out: Record<string, Float64Array> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fa-onnx-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await createSession(toBinary(ModelProtoSchema, model), { graphOptimizationLevel: 'all', optimizedModelFilePath: path });
    const feeds = Object.fromEntries(Object.entries(feed).map(([k, t]) => [k, new Tensor(t.type as 'int64', t.data as BigInt64Array, t.dims)]));
    const result = await s.run(feeds);
    await s.release();
    const ops = new Map<string, number>();
    for (const n of fromBinary(ModelProtoSchema, readFileSync(path)).graph!.node) ops.set(`${n.domain}:${n.opType}`, (ops.get(`${n.domain}:${n.opType}`) ?? 0) + 1);
    return { ops, out: Object.fromEntries(Object.entries(result).map(([k, t]) => [k, toFloats(t as { type: string; data: unknown })])) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest |a - b| over the largest |a| (NaN where exactly one side is NaN counts as infinite). */
export function relativeMaxError(a: Float64Array, b: Float64Array): number {
  let err = 0, mag = 1e-6;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) { if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity; continue; }
    err = Math.max(err, Math.abs(x - y));
    mag = Math.max(mag, Math.abs(x));
  }
  return err / mag;
}
