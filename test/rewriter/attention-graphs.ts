// Parametrised decomposed-attention graphs: the variations exporters write, and near misses.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, DT } from './graph-builder.js';
import type { ModelProto } from 'onnx-buf';

export const B = 2, H = 4, S = 5, D = 8, HD = H * D;
const defaultHeadDim = D;

export interface AttentionOptions {
  /** 'bhsd': q, k, v are rank-4 inputs; 'packed': [B, S, H·D] inputs split into heads in the graph. */
  form?: 'bhsd' | 'packed';
  scale?: 'mul' | 'div' | 'sqrt-split' | 'none' | 'input';
  qk?: 'matmul' | 'einsum';
  softmaxAxis?: number;
  mask?: 'none' | 'bool-where' | 'additive-min' | 'additive-inf' | 'additive-weak' | 'bias';
  /** Adds the bias before the scale (not the op's order). */
  biasBeforeScale?: boolean;
  softcap?: number;
  dropout?: boolean;
  kvHeads?: number;
  /** Q's heads split with heads inner ([B, S, D, H]): a view, but not a head split. */
  headsInnerQ?: boolean;
  /** GQA heads repeated with Tile (head order kv-major: not repeat_kv's order, so not absorbed). */
  tileRepeat?: boolean;
  /** P·V written as an Einsum. */
  pvEinsum?: boolean;
  /** The additive mask is built in float32 and cast to the model's float type. */
  maskCastTo?: number;
  /** Model float type (inputs, constants). */
  float16?: boolean;
  /** K given already transposed, [B, H, D, S]: the op cannot read that layout. */
  ktInput?: boolean;
  /** Head dim of q, k and v (default 8). */
  headDim?: number;
}

/** Builds Softmax(scale·Q·Kᵀ [+ mask]) · V with the requested variations; output [B, H, S, D] or packed. */
export function attentionModel(o: AttentionOptions = {}): ModelProto {
  const D = o.headDim ?? defaultHeadDim, HD = H * D;
  const g = new GraphBuilder(17);
  const form = o.form ?? 'bhsd';
  const hk = o.kvHeads ?? H;
  let q: string, k: string, v: string;
  if (form === 'bhsd') {
    q = o.headsInnerQ ? '' : g.input('q', [B, H, S, D]);
    k = o.ktInput ? '' : g.input('k', [B, hk, S, D]);
    v = g.input('v', [B, hk, S, D]);
    if (o.headsInnerQ) q = g.op('Transpose', [g.op('Reshape', [g.input('q3', [B, S, HD]), g.ints([0, 0, D, H])])], { perm: [0, 3, 1, 2] });
  } else {
    const split = (x: string, heads: number) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, D])])], { perm: [0, 2, 1, 3] });
    q = split(g.input('q', [B, S, HD]), H);
    k = split(g.input('k', [B, S, hk * D]), hk);
    v = split(g.input('v', [B, S, hk * D]), hk);
  }
  if (hk !== H) {
    // repeat_kv: [B, Hk, S, D] -> [B, Hk, R, S, D] -> [B, H, S, D]
    const rep = (x: string) => o.tileRepeat ? g.op('Tile', [x, g.ints([1, H / hk, 1, 1])])
      : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([B, hk, H / hk, S, D])]), g.ints([B, H, S, D])]);
    k = rep(k);
    v = rep(v);
  }
  const scale = 1 / Math.sqrt(D);
  if (o.scale === 'sqrt-split') {
    q = g.op('Mul', [q, g.floats([Math.sqrt(scale)])]);
  }
  let scores: string;
  if (o.qk === 'einsum') scores = g.op('Einsum', [q, k], { equation: 'bhqd,bhkd->bhqk' });
  else {
    let kt = o.ktInput ? g.input('kt', [B, H, D, S]) : g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    if (o.scale === 'sqrt-split') kt = g.op('Mul', [kt, g.floats([Math.sqrt(scale)])]);
    scores = g.op('MatMul', [q, kt]);
  }
  const bias = () => g.input('bias', [B, 1, S, S]);
  if (o.biasBeforeScale) scores = g.op('Add', [scores, bias()]);
  if (o.scale === 'mul' || o.scale === undefined) scores = g.op('Mul', [scores, g.floats([scale])]);
  if (o.scale === 'div') scores = g.op('Div', [scores, g.floats([Math.sqrt(D)])]);
  if (o.scale === 'input') scores = g.op('Mul', [scores, g.input('s', [])]);
  if (o.softcap) {
    const c = g.floats([o.softcap]);
    scores = g.op('Mul', [g.op('Tanh', [g.op('Div', [scores, c])]), c]);
  }
  const mask = o.mask ?? 'none';
  if (mask === 'bool-where') scores = g.op('Where', [g.input('mask', [B, 1, S, S], DT.BOOL), scores, g.floats([-Infinity])]);
  if (mask.startsWith('additive')) {
    const fill = mask === 'additive-min' ? -3.4028234663852886e38 : mask === 'additive-inf' ? -Infinity : -10000;
    let m = g.op('Where', [g.input('mask', [B, 1, S, S], DT.BOOL), g.floats([0]), g.floats([fill])]);
    if (o.maskCastTo !== undefined) m = g.op('Cast', [m], { to: o.maskCastTo });
    scores = g.op('Add', [scores, m]);
  }
  if (mask === 'bias' && !o.biasBeforeScale) scores = g.op('Add', [scores, bias()]);
  let p = g.op('Softmax', [scores], { axis: o.softmaxAxis ?? -1 });
  if (o.dropout) p = g.op('Dropout', [p, g.floats([0.1])]);
  const out = o.pvEinsum ? g.op('Einsum', [p, v], { equation: 'bhij,bhjd->bhid' }) : g.op('MatMul', [p, v]);
  if (form === 'packed') {
    const merged = g.op('Reshape', [g.op('Transpose', [out], { perm: [0, 2, 1, 3] }), g.ints([0, 0, HD])]);
    return g.build(merged, 'y', [B, S, HD]);
  }
  return g.build(out, 'y', [B, H, S, D]);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
}

/** Random feeds for every graph input; masks attend except row 1's last two keys (and one fully masked row). */
export function feedsFor(model: ModelProto, seed = 3): Record<string, ort.Tensor> {
  const r = rng(seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of model.graph!.input) {
    const tt = input.type!.value.value as { elemType: number; shape: { dim: { value: { value: unknown } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    const n = dims.reduce((a, b) => a * b, 1);
    if (tt.elemType === DT.BOOL) {
      const data = new Uint8Array(n).fill(1);
      // batch 1: keys S-2, S-1 masked for every query; query 0 of batch 1 fully masked.
      for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) if (j >= S - 2 || i === 0) data[S * S + i * S + j] = 0;
      feeds[input.name] = new ort.Tensor('bool', data, dims);
    } else if (input.name === 'bias') {
      feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => r()), dims);
    } else {
      feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => 2 * r()), dims);
    }
  }
  return feeds;
}
