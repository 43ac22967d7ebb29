// com.microsoft.MultiHeadAttention (what ONNX Runtime's optimizers write): converted when it is a
// plain dense attention: separate q/k/v, no in-op bias, no KV cache in or out. A [B, Sk] key padding
// mask adds mask_filter_value, a finite constant: it goes in as that bias (ms-key-mask.ts).
import { dimEq, type Facts, type Graph, type Node } from '../../ir/index.js';
import type { AttentionPlan } from '../emit.js';
import { operandSources, type Operand } from '../views.js';
import { broadcastProblem } from './masks.js';
import { keyMaskBias, type KeyMaskBias } from './ms-key-mask.js';

export const PATTERN = 'ms-multihead-attention';

export function planMsMultiHeadAttention(g: Graph, facts: Facts, node: Node): AttentionPlan | string {
  const heads = node.int('num_heads', 0);
  if (!heads) return 'MultiHeadAttention without num_heads';
  const [q, k, v] = [node.input(0), node.input(1), node.input(2)];
  if (!q || !k || !v) return 'MultiHeadAttention with packed QKV or KV (not converted)';
  if (node.input(3)) return 'MultiHeadAttention with an in-op projection bias (not converted)';
  if ([6, 7, 8, 9].some((i) => node.input(i))) return 'MultiHeadAttention with a past key/value cache (not converted)';
  for (let i = 1; i < node.outputs.length; i++) {
    const o = node.outputs[i];
    if (o && (g.usesOf(o).length || g.isGraphOutput(o))) return 'MultiHeadAttention present/qk outputs are used';
  }
  const qs = facts.shape(q), ks = facts.shape(k), vs = facts.shape(v);
  if (!qs || qs.length !== 3 || typeof qs[2] !== 'number' || qs[2] % heads !== 0) return 'MultiHeadAttention query is not [B, S, H·D] with a static hidden size';
  const headDim = qs[2] / heads;
  const packed = (value: string, s: typeof qs): Operand | undefined =>
    typeof s[2] === 'number' && s[2] % heads === 0 ? { value, form: 'packed', heads, headDim: s[2] / heads, scale: 1, through: [] } : undefined;
  let kOps: Operand[], vOps: Operand[];
  if (ks?.length === 3 && vs?.length === 3) {
    const ko = packed(k, ks), vo = packed(v, vs);
    if (!ko || !vo) return 'MultiHeadAttention key/value hidden sizes are not multiples of num_heads';
    [kOps, vOps] = [[ko], [vo]];
  } else if (ks?.length === 4 && vs?.length === 4) {
    kOps = operandSources(g, facts, k, 'kv');
    vOps = operandSources(g, facts, v, 'kv');
  } else return 'MultiHeadAttention key/value of unknown or mixed rank';
  if (!kOps.length || !vOps.length || kOps[0]!.heads !== heads) return 'MultiHeadAttention key/value heads not proven';

  const sq = qs[1]!, sk = ks[ks.length === 3 ? 1 : 2]!;
  const attributes: Record<string, number | string> = {};
  if (node.int('unidirectional', 0)) {
    if (!dimEq(sq, sk)) return 'unidirectional MultiHeadAttention with query and key lengths not proven equal (alignment unknown)';
    attributes.causal = 1;
  }
  // A key padding mask adds mask_filter_value (finite): it goes in as that additive bias.
  const keyPadding = node.input(4);
  let keyBias: KeyMaskBias | undefined;
  if (keyPadding) {
    const T = facts.dtype(q);
    if (T === undefined) return 'MultiHeadAttention query dtype unknown';
    const m = keyMaskBias(g, facts, node, keyPadding, T, qs[0]!, sk);
    if (typeof m === 'string') return m;
    keyBias = m;
  }
  const bias = node.input(5);
  if (bias) {
    const problem = broadcastProblem(facts, bias, [qs[0]!, heads, sq, sk]);
    if (problem) return problem;
    attributes.masked_rows = 'nan';
  }
  const scaleAttr = node.attr('scale');
  const scale = scaleAttr && scaleAttr.f !== 0 ? scaleAttr.f : 1 / Math.sqrt(headDim);
  return {
    id: node.id,
    pattern: PATTERN,
    resultNode: node,
    q: [{ value: q, form: 'packed', heads, headDim, scale: 1, through: [] }],
    k: kOps, v: vOps,
    deliveries: [{ value: node.outputs[0]!, form: 'packed', through: [], shapeReads: [] }],
    scale,
    attributes,
    biases: [...(keyBias ? [keyBias.value] : []), ...(bias ? [bias] : [])],
    masks: [],
    negatedMasks: [],
    matched: [node],
    prepare: keyBias?.write,
  };
}
