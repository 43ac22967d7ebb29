// The decomposed attention that exporters write: Softmax(scale·Q·Kᵀ + masks) · V, with head
// split/merge views around it. Anchored on Softmax; covers eager attention, torch's SDPA
// decomposition (sqrt-scale on Q and K, boolean masks, the NaN guard) and onnxscript's output.
import { FLOAT_TYPES, dimEq, dimMul, uniformValue, type Dim, type Facts, type Graph, type Node } from '../../ir/index.js';
import type { AttentionPlan } from '../emit.js';
import { constant, match, op, v } from '../pattern.js';
import { operandSources, outputTargets, type Want } from '../views.js';
import { broadcastProblem, provenFinite } from './masks.js';
import { readScoreChain } from './scores.js';
import { constantBiasBand, splitMask } from './causal.js';
import { maskSense } from './mask-forms.js';

export const PATTERN = 'decomposed-attention';

/** torch's SDPA replaces the NaN rows of all-masked softmax by zeros: Where(IsNaN(p), 0, p). */
const nanGuard = op('Where', op('IsNaN', v('p')), constant('zero', (c) => uniformValue(c) === 0 && c.dims.every((d) => d === 1)), v('p'));

interface ProbsPath { pv: Node; guard: boolean; nodes: Node[]; merged: boolean; shapeReads: Node[] }

/** Follows the probabilities from Softmax to the P·V MatMul through Casts, Dropout and the NaN guard. */
function probsToValue(g: Graph, facts: Facts, softmax: Node): ProbsPath | string {
  let cur = softmax.outputs[0]!;
  let guard = false;
  let merged = false;
  const shapeReads: Node[] = [];
  const nodes: Node[] = [];
  for (let step = 0; step < 8; step++) {
    if (g.isGraphOutput(cur) || g.subgraphUses.has(cur)) return 'the attention probabilities are a graph output or used by a subgraph';
    // Shape nodes only read the probabilities' shape: they get it rebuilt from Q and K instead.
    const all = g.usesOf(cur);
    const reads = all.filter((n) => n.op === 'Shape' && n.domain === '');
    shapeReads.push(...reads);
    const uses = all.filter((n) => !reads.includes(n));
    if (uses.length === 2) {
      const where = uses.find((n) => n.op === 'Where');
      const m = where ? match(g, nanGuard, where.outputs[0]) : undefined;
      if (!m || m.values.get('p') !== cur || !uses.some((n) => n.op === 'IsNaN')) return 'the attention probabilities are used outside the attention';
      guard = true;
      nodes.push(...m.matched);
      cur = where!.outputs[0]!;
      continue;
    }
    if (uses.length !== 1) return uses.length ? 'the attention probabilities are used outside the attention' : 'the attention probabilities are unused';
    const n = uses[0]!;
    if (n.domain !== '') return `unsupported ${n.domain}.${n.op} after Softmax`;
    if (n.op === 'MatMul' && n.input(0) === cur) return { pv: n, guard, nodes, merged, shapeReads };
    if (n.op === 'Einsum' && n.input(0) === cur && isProbsTimesValue(n)) return { pv: n, guard, nodes, merged, shapeReads };
    if (n.op === 'Reshape' && !merged) {
      // [B, H, Sq, Sk] -> [B·H, Sq, Sk] for a batched 3-D P·V (BLOOM, DeBERTa).
      const [from, to] = [facts.shape(cur), facts.shape(n.outputs[0])];
      if (from?.length === 4 && to?.length === 3 && dimEq(to[0], dimMul(from[0]!, from[1]!)) && dimEq(to[1], from[2]) && dimEq(to[2], from[3])) {
        merged = true; nodes.push(n); cur = n.outputs[0]!; continue;
      }
    }
    if (n.op === 'Identity' || (n.op === 'Cast' && FLOAT_TYPES.has(n.int('to', 0)))) { nodes.push(n); cur = n.outputs[0]!; continue; }
    if (n.op === 'Dropout') {
      // Inference: Dropout is the identity unless training_mode is a true constant.
      const training = n.input(2) ? g.constant(n.input(2)) : undefined;
      if (n.input(2) && (!training || training.data[0] !== 0)) return 'a Dropout whose training_mode is not a false constant';
      if (n.outputs[1] && g.usesOf(n.outputs[1]).length) return 'the Dropout mask output is used';
      nodes.push(n); cur = n.outputs[0]!; continue;
    }
    return `unsupported ${n.op} between Softmax and the P·V product`;
  }
  return 'too many operations after Softmax';
}

/** An Einsum that is P·V per head: 'bhqk,bhkd->bhqd' (any letters). */
function isProbsTimesValue(n: Node): boolean {
  const m = /^(\w)(\w)(\w)(\w),(\w)(\w)(\w)(\w)->(\w)(\w)(\w)(\w)$/.exec(n.str('equation', '').replace(/\s/g, ''));
  if (!m) return false;
  const [b, h, i, j, b2, h2, j2, d, ob, oh, oi, od] = m.slice(1);
  return new Set([b, h, i, j, d]).size === 5 && b === b2 && h === h2 && j === j2 && ob === b && oh === h && oi === i && od === d;
}

/** How an Einsum computes q·k: its K operand read as [B,H,S,D] ('kv') or [B,H,D,S] ('kt'). */
function einsumKeyForm(n: Node): Want | undefined {
  const eq = n.str('equation', '').replace(/\s/g, '');
  const m = /^(\w{4}),(\w{4})->(\w{4})$/.exec(eq);
  if (!m) return undefined;
  const [a, b, o] = [m[1]!, m[2]!, m[3]!];
  const [B, H, I, D] = a;
  if (o !== `${B}${H}${I}${b[2] === D ? b[3] : b[2]}`) return undefined;
  const J = o[3]!;
  if (b === `${B}${H}${J}${D}`) return 'kv';
  if (b === `${B}${H}${D}${J}`) return 'kt';
  return undefined;
}

export function planDecomposedAttention(g: Graph, facts: Facts, softmax: Node): AttentionPlan | string {
  const rank = facts.rank(softmax.input(0));
  if (rank !== 4) return `Softmax input of rank ${rank ?? 'unknown'}, not [B, H, Sq, Sk]`;
  const axis = softmax.int('axis', g.opset >= 13 ? -1 : 1);
  if (axis !== -1 && axis !== rank - 1) return `Softmax over axis ${axis}, not the last (key) axis`;

  const path = probsToValue(g, facts, softmax);
  if (typeof path === 'string') return path;
  const chain = readScoreChain(g, facts, softmax.input(0)!);
  if (typeof chain === 'string') return chain;

  const qk = chain.qk;
  let kWant: Want = 'kt';
  if (qk.op === 'Einsum') {
    const f = einsumKeyForm(qk);
    if (!f) return `Einsum '${qk.str('equation', '')}' is not a per-head q·k product`;
    kWant = f;
  }
  // Batched 3-D matmuls merge batch and heads, on either side of the Softmax: H comes from the 4-D scores.
  const heads3 = chain.mergedHeads;
  const scores = heads3 !== undefined ? facts.shape(softmax.input(0)) : facts.shape(qk.outputs[0]);
  if (!scores || scores.length !== 4) return 'the Q·Kᵀ product is not a rank-4 [B, H, Sq, Sk] tensor';
  const headsPV = path.merged ? scores[1] : undefined;
  if (path.merged && typeof headsPV !== 'number') return 'the head count of the merged P·V is not static';
  const resultShape = facts.shape(path.pv.outputs[0]);
  if (!resultShape || resultShape.length !== (path.merged ? 3 : 4)) return 'the P·V product is not a [B, H, Sq, Dv] tensor';
  const scores3 = heads3 !== undefined ? facts.shape(qk.outputs[0]) : undefined;
  for (const b of chain.biases3) {
    const problem = scores3 ? broadcastProblem(facts, b, scores3) : 'no merged scores';
    if (problem) return problem;
  }

  const q = operandSources(g, facts, qk.input(0)!, 'q', heads3);
  const k = operandSources(g, facts, qk.input(1)!, kWant, heads3);
  const val = operandSources(g, facts, path.pv.input(1)!, 'kv', headsPV as number | undefined);
  if (!q.length) return 'Q is not a [B, H, S, D] view of a projection (heads not proven)';
  if (!k.length) return 'K is not a [B, H, S, D] view of a projection (heads not proven)';
  if (!val.length) return 'V is not a [B, H, S, D] view of a projection (heads not proven)';
  const heads = q[0]!.heads;

  for (const x of [...chain.biases, ...chain.masks.map((m) => m.cond)]) {
    const problem = broadcastProblem(facts, x, scores as Dim[]);
    if (problem) return problem;
  }

  // What a fully masked row gives in the original decides masked_rows (ops/README.md).
  const anyInf = chain.masks.some((m) => m.fill === -Infinity);
  const anyFinite = chain.masks.some((m) => m.fill !== -Infinity);
  if (anyInf && anyFinite) return 'masks with both -inf and finite fill values';
  const biases = [...chain.biases];
  let masks = chain.masks;
  const biasesFinite = biases.every((b) => provenFinite(g, facts, b));
  if (anyFinite && !biasesFinite) {
    // A finite mask next to a bias that might hold -inf: keep the additive masks as biases (exact).
    if (masks.some((m) => !m.additive)) return 'a finite Where mask together with a bias that may hold -inf';
    biases.push(...masks.map((m) => m.biasValue!));
    masks = [];
  }
  const attributes: Record<string, number | string> = {};
  if (chain.softcap) attributes.softcap = chain.softcap;
  // A constant additive causal band (a folded causal mask) becomes the causal attribute.
  for (let b = 0; b < biases.length; b++) {
    const band = constantBiasBand(g, facts, biases[b]!, scores as Dim[]);
    if (band && !Object.keys(band).some((k) => attributes[k] !== undefined && attributes[k] !== band[k])) {
      Object.assign(attributes, band);
      biases.splice(b--, 1);
    }
  }
  // Causal bands and windows inside a mask become attributes; the rest stays a mask tensor.
  const kept: typeof masks = [];
  const extra: string[] = [];
  for (const original of masks) {
    const m = { ...original, ...maskSense(g, facts, original.cond, original.attendWhen) };
    const split = m.attendWhen ? splitMask(g, facts, m.cond, scores as Dim[]) : undefined;
    const clash = split && Object.entries(split.attributes).some(([k, x]) => attributes[k] !== undefined && attributes[k] !== x);
    if (!split || clash) { kept.push(m); continue; }
    Object.assign(attributes, split.attributes);
    extra.push(...split.rest);
  }
  const canBeInf = anyInf || !biases.every((b) => provenFinite(g, facts, b));
  if (masks.length && anyFinite) attributes.masked_rows = 'uniform';
  else if (canBeInf) attributes.masked_rows = path.guard ? 'zero' : 'nan';

  return {
    id: softmax.id,
    pattern: PATTERN,
    resultNode: path.pv,
    q, k, v: val,
    // Shape reads on the way out move to an equally shaped Q view (exporters read the result's shape).
    deliveries: outputTargets(g, facts, path.pv.outputs[0]!, heads, [qk.input(0)!, ...q.map((o) => o.value)]),
    probShapeReads: path.shapeReads.length ? { reads: path.shapeReads, q: qk.input(0)!, k: qk.input(1)!, kForm: kWant, heads } : undefined,
    scale: chain.scale,
    attributes,
    biases,
    mergedBiases: chain.biases3.map((value) => ({ value, heads })),
    masks: [...kept.filter((m) => m.attendWhen).map((m) => m.cond), ...extra],
    negatedMasks: kept.filter((m) => !m.attendWhen).map((m) => m.cond),
    matched: [softmax, ...path.nodes, path.pv, ...chain.nodes],
  };
}
