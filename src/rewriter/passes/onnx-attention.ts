// The standard ONNX Attention operator (opsets 23/24): same math as ours when no KV cache is
// passed in or out and the QK-matmul output is not asked for.
import { DT, type Dim, type Facts, type Graph, type Node } from '../../ir/index.js';
import type { AttentionPlan } from '../emit.js';
import { broadcastProblem } from './masks.js';
import { constantBiasBand, splitMask } from './causal.js';
import { additiveMaskOf } from './scores.js';
import { operandSources, outputTargets, type Operand } from '../views.js';

export const PATTERN = 'onnx-attention';

/** A rank-3 input used as is: [B, S, H·D] with the head count from the node's attributes. */
function packedOperand(facts: Facts, value: string, heads: number): Operand | undefined {
  const s = facts.shape(value);
  if (!s || s.length !== 3 || !heads || typeof s[2] !== 'number' || s[2] % heads !== 0) return undefined;
  return { value, form: 'packed', heads, headDim: s[2] / heads, scale: 1, through: [] };
}

export function planOnnxAttention(g: Graph, facts: Facts, node: Node): AttentionPlan | string {
  const [q, k, v, mask, pastK, pastV, nonpad] = [0, 1, 2, 3, 4, 5, 6].map((i) => node.input(i));
  if (!q || !k || !v) return 'Attention without query, key and value';
  const used = (i: number) => { const o = node.outputs[i]; return !!o && (g.usesOf(o).length > 0 || g.isGraphOutput(o)); };
  if (used(3)) return 'the QK-matmul output of Attention is used';
  const past = !!(pastK || pastV);
  if (past && !(pastK && pastV)) return 'Attention with only one of past_key and past_value';
  if (!past && (used(1) || used(2))) return 'the present key/value outputs of Attention are used without a past';
  if (past && node.int('is_causal', 0)) return 'causal Attention with a past cache (its alignment is not converted)';
  if (past && nonpad) return 'Attention with a past cache and nonpad_kv_seqlen';
  const rank = facts.rank(q);
  const qHeads = node.int('q_num_heads', 0), kvHeads = node.int('kv_num_heads', 0);
  let qs: Operand[], ks: Operand[], vs: Operand[];
  let deliveries;
  if (rank === 3) {
    const qo = packedOperand(facts, q, qHeads), ko = packedOperand(facts, k, kvHeads), vo = packedOperand(facts, v, kvHeads);
    if (!qo || !ko || !vo) return 'rank-3 Attention whose head counts do not divide the hidden sizes';
    [qs, ks, vs] = [[qo], [ko], [vo]];
    deliveries = [{ value: node.outputs[0]!, form: 'packed' as const, through: [], shapeReads: [] }];
  } else if (rank === 4) {
    qs = operandSources(g, facts, q, 'q');
    ks = past ? [] : operandSources(g, facts, k, 'kv');
    vs = past ? [] : operandSources(g, facts, v, 'kv');
    if (!qs.length || (!past && (!ks.length || !vs.length))) return 'rank-4 Attention inputs whose head layout is not proven';
    deliveries = outputTargets(g, facts, node.outputs[0]!, qs[0]!.heads);
  } else return `Attention with rank-${rank ?? 'unknown'} inputs`;

  // A past cache: keys and values are the concatenation [B, Hk, P + S, D], written as the present outputs.
  let kvConcat: AttentionPlan['kvConcat'];
  let totalKeys: Dim | undefined;
  if (past) {
    const pk = facts.shape(pastK), pv = facts.shape(pastV), kn = facts.shape(k), vn = facts.shape(v);
    if (pk?.length !== 4 || pv?.length !== 4 || !kn || !vn) return 'past key/value shapes are not known';
    const hk = pk[1], d = pk[3], dv = pv[3];
    if (typeof hk !== 'number' || typeof d !== 'number' || typeof dv !== 'number') return 'past key/value heads or head dims are not static';
    const newLen = rank === 3 ? kn[1] : kn[2];
    totalKeys = typeof pk[2] === 'number' && typeof newLen === 'number' ? pk[2] + newLen : undefined;
    if (totalKeys === undefined) return 'the total key length (past + new) is not static';
    kvConcat = { pastK: pastK!, pastV: pastV!, k, v, rank, kvHeads: hk, headDim: d, valueDim: dv, presentK: used(1) ? node.outputs[1] : undefined, presentV: used(2) ? node.outputs[2] : undefined };
    ks = [{ value: '', form: 'BHSD', heads: hk, headDim: d, scale: 1, through: [] }];
    vs = [{ value: '', form: 'BHSD', heads: hk, headDim: dv, scale: 1, through: [] }];
  }

  const maskType = facts.dtype(mask);
  if (mask && maskType === undefined) return 'the attention mask dtype is unknown';
  let scores: Dim[] | undefined;
  if (mask) {
    // The op needs the mask to cover every key; ONNX (opset 24) lets it be shorter and pads -inf.
    const qShape = facts.shape(q), kShape = facts.shape(k);
    const sq = rank === 4 ? qShape?.[2] : qShape?.[1], sk = totalKeys ?? (rank === 4 ? kShape?.[2] : kShape?.[1]);
    if (!qShape || !kShape || sq === undefined || sk === undefined) return 'the query/key lengths are not known';
    scores = [qShape[0]!, qs[0]!.heads, sq, sk];
    const problem = broadcastProblem(facts, mask, scores);
    if (problem) return problem;
  }
  const attributes: Record<string, number | string> = {};
  const scaleAttr = node.attr('scale');
  const headDim = qs[0]!.headDim;
  if (!scaleAttr && typeof headDim !== 'number') return 'the head dim is not static (default scale)';
  const scale = scaleAttr ? scaleAttr.f : 1 / Math.sqrt(headDim as number);
  // ONNX aligns the causal mask to the top left when there is no past.
  if (node.int('is_causal', 0)) attributes.causal = 1;
  // A causal band inside the mask becomes the attribute too (when is_causal does not already say otherwise).
  let boolMasks = mask && maskType === DT.BOOL ? [mask] : [];
  let biases = mask && maskType !== DT.BOOL ? [mask] : [];
  if (mask && scores && !attributes.causal) {
    const split = maskType === DT.BOOL ? splitMask(g, facts, mask, scores) : undefined;
    const band = maskType !== DT.BOOL ? constantBiasBand(g, facts, mask, scores) : undefined;
    if (split) { Object.assign(attributes, split.attributes); boolMasks = split.rest; }
    else if (band) { Object.assign(attributes, band); biases = []; }
  }
  // A float mask built as Where(cond, bias, lowest) (or Where(cond, 0, lowest)) is that boolean
  // mask plus that bias: both keep their own smaller shapes instead of the Where's full one.
  let negatedMasks: string[] = [];
  if (mask && scores && biases.length === 1 && biases[0] === mask) {
    const am = additiveMaskOf(g, facts, mask);
    const parts = am ? [am.term.cond, ...(am.bias ? [am.bias] : [])] : [];
    if (am && facts.dtype(am.term.cond) === DT.BOOL && parts.every((x) => !broadcastProblem(facts, x, scores!))) {
      biases = am.bias ? [am.bias] : [];
      if (am.term.attendWhen) boolMasks = [am.term.cond];
      else negatedMasks = [am.term.cond];
    }
  }
  const softcap = node.float('softcap', 0);
  if (softcap > 0) attributes.softcap = softcap;
  // All-masked rows: ONNX's function body gives NaN (a -inf bias), but ONNX Runtime's Attention
  // kernel, which is what the original model runs on, writes zeros, for boolean and float masks
  // alike (measured in test/rewriter/onnx-attention.test.ts and the corpus tests). Key lengths of
  // zero (opset 24) are assumed to take the same kernel path; not measured.
  if (mask || nonpad) attributes.masked_rows = 'zero';
  return {
    id: node.id,
    pattern: PATTERN,
    resultNode: node,
    q: qs, k: ks, v: vs,
    deliveries,
    scale,
    attributes,
    biases,
    masks: boolMasks,
    negatedMasks,
    keyLengths: nonpad,
    kvConcat,
    matched: [node],
  };
}
