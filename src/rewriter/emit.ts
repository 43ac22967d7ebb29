// Turning a proven attention site into one fa_onnx.FlashAttention node: choosing the forms of
// q, k, v and the output (packed rank 3 where the graph has it, else rank 4 in one layout), adding
// the few helper nodes masks need (Not, And, Add, Cast), and taking over the output value.
import { DT, dimEq, makeAttribute, type Facts, type Graph, type Node } from '../ir/index.js';
import type { Delivery, Form, Operand } from './views.js';
import { castsExactly } from './passes/masks.js';
import { reduceBias, reduceMask } from './passes/mask-forms.js';

export const FA_DOMAIN = 'fa_onnx';

export interface RewriteOptions {
  /** The provider the model is meant for: sites whose head dims its kernels do not take stay as they are. */
  target?: 'cpu' | 'cuda';
  computeDtype?: 'keep' | 'float16' | 'bfloat16';
}

export interface SiteReport {
  id: string;
  pattern: string;
  status: 'fused' | 'skipped';
  reason?: string;
  op?: string;
  attributes?: Record<string, number | string>;
  removedNodes: string[];
}

/** Everything a pass proved about one site; `emitAttention` decides the forms and writes it. */
export interface AttentionPlan {
  id: string;
  pattern: string;
  /** Node that computes the [B, Hq, Sq, Dv] attention result today. */
  resultNode: Node;
  q: Operand[];
  k: Operand[];
  v: Operand[];
  deliveries: Delivery[];
  /** Multiplier on q·k besides the operands' own scalar factors. */
  scale: number;
  attributes: Record<string, number | string>;
  biases: string[];
  /** Biases of [B·H, Sq, Sk] scores (batched matmuls): reshaped to [B, H, ..] when written. */
  mergedBiases?: { value: string; heads: number }[];
  /** Boolean tensors, true = attend (already in that sense). */
  masks: string[];
  /** Boolean tensors that must be negated first (true = masked). */
  negatedMasks: string[];
  keyLengths?: string;
  /** Shape nodes reading the probabilities [B,H,Sq,Sk] (or [B·H,Sq,Sk]): rebuilt from q and k. */
  probShapeReads?: { reads: Node[]; q: string; k: string; kForm: 'kt' | 'kv' | 'q'; heads: number };
  /**
   * ONNX Attention with a past cache: k and v are Concat(past, new) along the sequence axis,
   * computed before the fused node (and named as the node's present outputs when those are used).
   */
  kvConcat?: {
    pastK: string; pastV: string; k: string; v: string; rank: number; kvHeads: number; headDim: number; valueDim: number;
    presentK?: string; presentV?: string;
  };
  /** Nodes this site covers (for the report of removed nodes). */
  matched: Node[];
  /**
   * Writes the nodes the operands need first (a projection, a Split of packed QKV, key lengths);
   * called once every check passed, so a site left as it is gets no helper nodes. The values it
   * produces already have facts (set by the pass).
   */
  prepare?: () => void;
}

interface Choice { q: Operand; k: Operand; v: Operand; out: Delivery; layout: 'BSHD' | 'BHSD'; absorbed: number }

/**
 * The forms that leave the fewest view nodes behind: q and the output share a form (packed, or
 * rank 4 in the layout); k and v are packed where possible, else rank 4 in the same layout.
 */
function choose(plan: AttentionPlan): Choice | undefined {
  let best: Choice | undefined;
  const deepest = <T extends { through: Node[] }>(list: T[]) => list.reduce<T | undefined>((a, b) => (!a || b.through.length > a.through.length ? b : a), undefined);
  for (const layout of ['BHSD', 'BSHD'] as const) {
    const usable = (o: { form: Form }) => o.form === 'packed' || o.form === layout;
    const k = deepest(plan.k.filter(usable)), v = deepest(plan.v.filter(usable));
    if (!k || !v) continue;
    for (const form of ['packed', layout] as const) {
      const q = deepest(plan.q.filter((o) => o.form === form)), out = deepest(plan.deliveries.filter((d) => d.form === form));
      if (!q || !out) continue;
      const absorbed = q.through.length + k.through.length + v.through.length + out.through.length;
      if (!best || absorbed > best.absorbed) best = { q, k, v, out, layout, absorbed };
    }
  }
  return best;
}

/**
 * Head dims the target provider's kernels take (ops/README.md, "Errors"): a site the target could not
 * run stays as it is. Without a target only the contract applies.
 */
function unsupportedHeadDims(target: RewriteOptions['target'], d: unknown, dv: unknown): string | undefined {
  if (!target) return undefined;
  const cuda = target === 'cuda';
  for (const [what, x] of [['head dim', d], ['value head dim', dv]] as const) {
    if (typeof x !== 'number') return `the ${what} is not a known number, so the ${target} kernels cannot be shown to take it`;
    if (cuda ? x < 8 || x > 256 || x % 8 !== 0 : x < 1 || x > 512) {
      return `${what} ${x} is not one the ${cuda ? 'CUDA kernels take (multiples of 8 up to 256); --target cpu fuses it for the CPU provider' : 'CPU kernel takes (1 to 512)'}`;
    }
  }
  return undefined;
}

/** Writes the fused node; returns the report, or a reason when no consistent form exists. */
export function emitAttention(g: Graph, facts: Facts, plan: AttentionPlan, options: RewriteOptions): SiteReport | string {
  const c = choose(plan);
  if (!c) return 'q, k, v and the output have no common layout (would need copies)';
  // Helper nodes use Unsqueeze with an axes input (opset 13) and Shape with start/end (opset 15).
  if (plan.mergedBiases?.some((b) => (facts.rank(b.value) ?? 0) >= 3) && g.opset < 13) return 'reshaping a 3-D bias needs opset 13 or later';
  if (plan.probShapeReads && g.opset < 15) return 'the probabilities\' Shape reads need opset 15 or later to be rebuilt';
  const T = facts.dtype(c.q.value);
  const kv = plan.kvConcat;
  const kType = kv ? facts.dtype(kv.k) : facts.dtype(c.k.value), vType = kv ? facts.dtype(kv.v) : facts.dtype(c.v.value);
  if (T === undefined || kType !== T || vType !== T || (kv && (facts.dtype(kv.pastK) !== T || facts.dtype(kv.pastV) !== T))) return 'q, k and v do not share one known dtype';
  if (![DT.FLOAT, DT.FLOAT16, DT.BFLOAT16].includes(T)) return `dtype ${T} is not float32, float16 or bfloat16`;
  if (facts.dtype(plan.resultNode.outputs[0]) !== T) return 'the attention output dtype differs from q';
  const hq = c.q.heads, hk = c.k.heads;
  if (hk !== c.v.heads || hq % hk !== 0) return `head counts do not fit: q ${hq}, k ${hk}, v ${c.v.heads}`;
  if (!dimEq(c.q.headDim, c.k.headDim)) return 'q and k head dims differ';
  const headDims = unsupportedHeadDims(options.target, c.q.headDim, c.v.headDim);
  if (headDims) return headDims;
  // Masks that exclude nothing and zero biases are not passed; the rest in their smallest form.
  const kept = <T>(xs: (T | undefined)[]) => xs.filter((x): x is T => x !== undefined);
  const reducedBiases = kept(plan.biases.map((b) => reduceBias(g, facts, b)));
  const reducedMasks = kept(plan.masks.map((m) => reduceMask(g, facts, m)));
  const reducedNegated = kept(plan.negatedMasks.map((m) => reduceMask(g, facts, m, true)));
  // A float32 bias that is an upcast of a T tensor is used as that tensor (the same values).
  const plainBiases = reducedBiases.map((b) => (facts.dtype(b) === T ? b : upcastSource(g, facts, b, T) ?? b));
  // A float32 bias whose values are all exact in T (e.g. an ALiBi table) is cast to T.
  const exactCasts = new Set(plainBiases.filter((b) => facts.dtype(b) === DT.FLOAT && T !== DT.FLOAT && castsExactly(g, facts, b, T)));
  for (const b of [...plainBiases.filter((x) => !exactCasts.has(x)), ...(plan.mergedBiases ?? []).map((m) => m.value)]) if (facts.dtype(b) !== T) return `the bias '${b}' is ${facts.dtype(b) === DT.FLOAT ? 'float32' : 'another dtype'}, not the model's attention dtype`;
  const scale = plan.scale * c.q.scale * c.k.scale;
  if (!Number.isFinite(scale) || scale === 0) return `the combined scale ${scale} is not usable`;
  plan.prepare?.();

  const target = c.out.value;
  const owner = g.producerOf(target)!;
  const base = plan.id.replace(/[^A-Za-z0-9_./-]/g, '_');
  const helper = (op: string, inputs: string[], attrs: ReturnType<typeof makeAttribute>[] = []) => {
    const out = g.freshName(`${base}/fa_${op.toLowerCase()}`);
    g.insertBefore(owner, { op, name: out, inputs, outputs: [out], attributes: attrs });
    return out;
  };

  const biases = plainBiases.map((b) => (exactCasts.has(b) ? helper('Cast', [b], [makeAttribute('to', T)]) : b));
  for (const { value, heads } of plan.mergedBiases ?? []) {
    const s = facts.shape(value)!;
    if (s.length < 3) { biases.push(value); continue; }
    // [x, d1, d2] -> [x, 1, d1, d2]; when x is B·H, -> [B, H, d1, d2]; when x is 1 it broadcasts as is.
    const axes = helper('Constant', [], [makeAttribute('value_ints', [1])]);
    const four = helper('Unsqueeze', [value, axes]);
    if (s[0] === 1) { biases.push(four); continue; }
    const shape = helper('Constant', [], [makeAttribute('value_ints', [-1, heads, 0, 0])]);
    biases.push(helper('Reshape', [four, shape]));
  }
  let bias = biases[0] ?? '';
  for (const b of biases.slice(1)) bias = helper('Add', [bias, b]);
  const masks = [...reducedMasks, ...reducedNegated.map((m) => helper('Not', [m]))];
  let mask = masks[0] ?? '';
  for (const m of masks.slice(1)) mask = helper('And', [mask, m]);
  let keyLengths = plan.keyLengths ?? '';
  if (keyLengths && facts.dtype(keyLengths) !== DT.INT32) keyLengths = helper('Cast', [keyLengths], [makeAttribute('to', DT.INT32)]);

  const attrs: Record<string, number | string> = { scale, ...plan.attributes };
  const anyRank4 = [c.q, c.k, c.v].some((o) => o.form !== 'packed');
  if (anyRank4 && c.layout !== 'BSHD') attrs.layout = c.layout;
  attrs.num_heads = hq;
  attrs.kv_num_heads = hk;

  // Optional lower-precision compute for float32 models (explicit option only).
  const cd = options.computeDtype ?? 'keep';
  const castTo = cd === 'float16' ? DT.FLOAT16 : cd === 'bfloat16' ? DT.BFLOAT16 : undefined;
  const lower = castTo !== undefined && T === DT.FLOAT;
  const cast = (x: string) => (x && lower ? helper('Cast', [x], [makeAttribute('to', castTo!)]) : x);

  if (plan.kvConcat) {
    const [k, v] = concatCache(g, plan.resultNode, plan.kvConcat);
    c.k = { ...c.k, value: k };
    c.v = { ...c.v, value: v };
  }
  for (const { node, from, donor } of c.out.shapeReads) g.replaceInput(node, from, donor);
  if (plan.probShapeReads) rebuildShapeReads(g, facts, plan.probShapeReads);
  g.detachOutput(owner, target);
  const out = lower ? g.freshName(`${target}/fa_out`) : target;
  const node = g.insertBefore(owner, {
    op: 'FlashAttention', domain: FA_DOMAIN, name: g.freshName(`${base}/FlashAttention`),
    inputs: trimOptional([cast(c.q.value), cast(c.k.value), cast(c.v.value), cast(bias), mask, keyLengths]),
    outputs: [out],
    attributes: Object.entries(attrs).map(([k, x]) => makeAttribute(k, x, k === 'scale' || k === 'softcap')),
  });
  if (lower) {
    g.insertBefore(owner, { op: 'Cast', name: g.freshName(`${base}/fa_cast_out`), inputs: [out], outputs: [target], attributes: [makeAttribute('to', T)] });
  }
  g.claimOutput(node, target);
  const outDtype = lower ? castTo! : T, outShape = facts.shape(target);
  facts.set(out, { dtype: outDtype, shape: outShape });
  if (outShape) g.declareValueInfo(out, outDtype, outShape);

  const covered = [...plan.matched, ...c.q.through, ...c.k.through, ...c.v.through, ...c.out.through, owner];
  return {
    id: plan.id, pattern: plan.pattern, status: 'fused', op: `${FA_DOMAIN}.FlashAttention`,
    attributes: { ...attrs, q: c.q.form, k: c.k.form, v: c.v.form, ...(lower ? { compute: cd } : {}) },
    removedNodes: [...new Set(covered.map((n) => n.id))],
  };
}

function trimOptional(inputs: string[]): string[] {
  let n = inputs.length;
  while (n > 3 && !inputs[n - 1]) n--;
  return inputs.slice(0, n);
}

/**
 * Turns each Shape read of the probabilities into a Slice of a shape built from Q's and K's
 * shapes (B, H, Sq from Q; Sk from K), so the scores need not be computed for their shape.
 */
function rebuildShapeReads(g: Graph, facts: Facts, p: NonNullable<AttentionPlan['probShapeReads']>): void {
  for (const read of p.reads) {
    const rank = facts.rank(read.input(0));
    const qRank = facts.rank(p.q), kRank = facts.rank(p.k);
    if (rank === undefined || qRank === undefined || kRank === undefined) continue;
    const add = (op: string, inputs: string[], attrs: ReturnType<typeof makeAttribute>[] = []) => {
      const out = g.freshName(`${read.id}/fa_shape_${op.toLowerCase()}`);
      g.insertBefore(read, { op, name: out, inputs, outputs: [out], attributes: attrs });
      return out;
    };
    const dims = (x: string, start: number, end: number) => add('Shape', [x], [makeAttribute('start', start), makeAttribute('end', end)]);
    const parts: string[] = [];
    if (qRank === rank) parts.push(dims(p.q, 0, rank - 1));
    else if (qRank === 3 && rank === 4) {
      const h = add('Constant', [], [makeAttribute('value_ints', [p.heads])]);
      parts.push(add('Div', [dims(p.q, 0, 1), h]), h, dims(p.q, 1, 2));
    } else if (qRank === 4 && rank === 3) parts.push(add('Mul', [dims(p.q, 0, 1), dims(p.q, 1, 2)]), dims(p.q, 2, 3));
    else continue;
    parts.push(p.kForm === 'kt' ? dims(p.k, kRank - 1, kRank) : dims(p.k, kRank - 2, kRank - 1));
    const full = add('Concat', parts, [makeAttribute('axis', 0)]);
    // The read's own start/end, as a Slice of the rebuilt shape.
    const start = read.attr('start') ? Number(read.attr('start')!.i) : 0;
    const end = read.attr('end') ? Number(read.attr('end')!.i) : rank;
    const starts = add('Constant', [], [makeAttribute('value_ints', [start])]);
    const ends = add('Constant', [], [makeAttribute('value_ints', [end])]);
    const from = read.input(0)!;
    read.proto.opType = 'Slice';
    read.proto.attribute = [];
    g.replaceInput(read, from, full);
    read.proto.input.push(starts, ends);
  }
}

/** x when `value` is Cast(x) to float32 with x of dtype `t` (an exact widening), else undefined. */
function upcastSource(g: Graph, facts: Facts, value: string, t: number): string | undefined {
  const p = g.producerOf(value);
  if (!p || p.op !== 'Cast' || p.domain !== '' || p.int('to', 0) !== DT.FLOAT) return undefined;
  return facts.dtype(p.input(0)) === t ? p.input(0) : undefined;
}

/** Concat(past, new) for keys and values, placed before `at`; new rank-3 [B,S,Hk·D] is split into heads first. */
function concatCache(g: Graph, at: Node, kv: NonNullable<AttentionPlan['kvConcat']>): [string, string] {
  const add = (op: string, inputs: string[], attrs: ReturnType<typeof makeAttribute>[], name?: string) => {
    const out = name ?? g.freshName(`${at.id}/fa_cache_${op.toLowerCase()}`);
    if (name) g.detachOutput(at, name);
    const node = g.insertBefore(at, { op, name: g.freshName(`${at.id}/fa_cache_${op}`), inputs, outputs: [out], attributes: attrs });
    if (name) g.claimOutput(node, name);
    return out;
  };
  const heads = (x: string, d: number) => {
    if (kv.rank !== 3) return x;
    const shape = add('Constant', [], [makeAttribute('value_ints', [0, 0, kv.kvHeads, d])]);
    return add('Transpose', [add('Reshape', [x, shape], [])], [makeAttribute('perm', [0, 2, 1, 3])]);
  };
  const k = add('Concat', [kv.pastK, heads(kv.k, kv.headDim)], [makeAttribute('axis', 2)], kv.presentK);
  const v = add('Concat', [kv.pastV, heads(kv.v, kv.valueDim)], [makeAttribute('axis', 2)], kv.presentV);
  return [k, v];
}
