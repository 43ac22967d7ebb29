// com.microsoft.Attention (BERT-style, the QKV projection inside the op) converted where its
// attention is plain: the projection becomes MatMul (+ Add of the bias) and a Split into q, k, v,
// then FlashAttention; a [B, S] mask_index becomes the additive bias ONNX Runtime applies. Left as
// it is: other mask_index forms, a past state, rotary inside the op, a
// used present output, a missing bias (ONNX Runtime's CPU kernel cannot run it to check against).
import { dimEq, makeAttribute, type Facts, type Graph, type Node } from '../../ir/index.js';
import type { AttentionPlan } from '../emit.js';
import { broadcastProblem } from './masks.js';
import { keyMaskBias, type KeyMaskBias } from './ms-key-mask.js';

export const PATTERN = 'ms-attention';

const IN = { input: 0, weights: 1, bias: 2, maskIndex: 3, past: 4, attentionBias: 5, pastSequenceLength: 6 } as const;

const KNOWN_ATTRIBUTES = new Set(['num_heads', 'qkv_hidden_sizes', 'unidirectional', 'scale', 'mask_filter_value', 'do_rotary', 'rotary_embedding_dim', 'past_present_share_buffer']);

export function planMsPackedAttention(g: Graph, facts: Facts, node: Node): AttentionPlan | string {
  const heads = node.int('num_heads', 0);
  if (!heads) return 'com.microsoft.Attention without num_heads';
  const unknown = node.proto.attribute.find((a) => !KNOWN_ATTRIBUTES.has(a.name));
  if (unknown) return `com.microsoft.Attention attribute '${unknown.name}' is not known to this conversion`;
  if (node.int('do_rotary', 0)) return 'com.microsoft.Attention applies rotary embeddings inside the op (do_rotary=1)';
  if (node.input(IN.past) || node.input(IN.pastSequenceLength)) return 'com.microsoft.Attention with a past state (not converted)';
  const present = node.outputs[1];
  if (present && (g.usesOf(present).length || g.isGraphOutput(present))) return 'com.microsoft.Attention present output is used';

  const x = node.input(IN.input)!, w = node.input(IN.weights), b = node.input(IN.bias);
  const xs = facts.shape(x), ws = w ? facts.shape(w) : undefined;
  if (!w || !xs || xs.length !== 3 || !ws || ws.length !== 2 || typeof ws[1] !== 'number' || !dimEq(ws[0], xs[2])) {
    return 'com.microsoft.Attention input is not [B, S, hidden] with weights [hidden, q + k + v] of static width';
  }
  const sizesAttr = node.attr('qkv_hidden_sizes')?.ints.map(Number);
  const sizes = sizesAttr?.length === 3 ? sizesAttr : ws[1] % 3 === 0 ? [ws[1] / 3, ws[1] / 3, ws[1] / 3] : undefined;
  if (!sizes || sizes[0]! + sizes[1]! + sizes[2]! !== ws[1]) return 'com.microsoft.Attention qkv_hidden_sizes do not add up to the weights\' width';
  if (sizes.some((s) => s % heads !== 0) || sizes[0] !== sizes[1]) return 'com.microsoft.Attention hidden sizes are not multiples of num_heads, or q and k sizes differ';
  // Without a bias the original cannot be run to compare against (ONNX Runtime 1.30's CPU kernel
  // ends the process, measured 2026-11-23).
  if (!b) return 'com.microsoft.Attention without a bias input: ONNX Runtime 1.30\'s CPU kernel crashes on it, so the conversion is not checked';
  const bs = facts.shape(b);
  if (bs?.length !== 1 || bs[0] !== ws[1]) return 'com.microsoft.Attention bias is not [q + k + v]';
  const T = facts.dtype(x);
  if (T === undefined || facts.dtype(w) !== T || facts.dtype(b) !== T) return 'com.microsoft.Attention input, weights and bias do not share one dtype';

  const [B, S] = [xs[0]!, xs[1]!];
  const headDim = sizes[0]! / heads, valueDim = sizes[2]! / heads;
  const attributes: Record<string, number | string> = {};
  // Self-attention without a past: query and key lengths are both S, so the alignment is moot.
  // Future keys take no part in ONNX Runtime 1.30 (with a mask_filter_value of -2.5 the two still
  // agree, so it is not that fill; a -10000 fill would underflow to the same result anyway).
  if (node.int('unidirectional', 0)) attributes.causal = 1;
  // A [B, S] key mask: ONNX Runtime adds 0 where mask_index > 0 and mask_filter_value elsewhere
  // (a finite constant, not an exclusion), so it goes in as that additive [B, 1, 1, S] bias.
  const maskIndex = node.input(IN.maskIndex);
  let maskBias: KeyMaskBias | undefined;
  if (maskIndex) {
    // With unidirectional, ONNX Runtime 1.30 excludes future keys and adds the fill to padded
    // ones, fully masked rows included (measured with a fill of -2.5): causal=1 plus this bias.
    const m = keyMaskBias(g, facts, node, maskIndex, T, B, S);
    if (typeof m === 'string') return m;
    maskBias = m;
  }
  const bias = node.input(IN.attentionBias);
  if (bias) {
    const problem = broadcastProblem(facts, bias, [B, heads, S, S]);
    if (problem) return problem;
    attributes.masked_rows = 'nan';
  }
  const scaleAttr = node.float('scale', 0);
  const scale = scaleAttr !== 0 ? scaleAttr : 1 / Math.sqrt(headDim);

  const base = node.id.replace(/[^A-Za-z0-9_./-]/g, '_');
  const [q, k, v] = ['q', 'k', 'v'].map((n) => g.freshName(`${base}/fa_${n}`)) as [string, string, string];
  facts.set(q, { dtype: T, shape: [B, S, sizes[0]!] });
  facts.set(k, { dtype: T, shape: [B, S, sizes[1]!] });
  facts.set(v, { dtype: T, shape: [B, S, sizes[2]!] });
  const add = (op: string, inputs: string[], outputs: string[], attrs: ReturnType<typeof makeAttribute>[] = []) =>
    g.insertBefore(node, { op, name: g.freshName(`${base}/fa_${op.toLowerCase()}`), inputs, outputs, attributes: attrs });
  const prepare = () => {
    const product = g.freshName(`${base}/fa_qkv`);
    add('MatMul', [x, w], [product]);
    const qkv = g.freshName(`${base}/fa_qkv_bias`);
    add('Add', [product, b], [qkv]);
    if (g.opset >= 13) {
      const split = g.freshName(`${base}/fa_split_sizes`);
      add('Constant', [], [split], [makeAttribute('value_ints', sizes)]);
      add('Split', [qkv, split], [q, k, v], [makeAttribute('axis', 2)]);
    } else add('Split', [qkv], [q, k, v], [makeAttribute('axis', 2), makeAttribute('split', sizes)]);
    maskBias?.write();
  };
  return {
    id: node.id,
    pattern: PATTERN,
    resultNode: node,
    q: [{ value: q, form: 'packed', heads, headDim, scale: 1, through: [] }],
    k: [{ value: k, form: 'packed', heads, headDim, scale: 1, through: [] }],
    v: [{ value: v, form: 'packed', heads, headDim: valueDim, scale: 1, through: [] }],
    deliveries: [{ value: node.outputs[0]!, form: 'packed', through: [], shapeReads: [] }],
    scale,
    attributes,
    biases: [...(maskBias ? [maskBias.value] : []), ...(bias ? [bias] : [])],
    masks: [],
    negatedMasks: [],
    matched: [node],
    prepare,
  };
}
