// com.microsoft.GroupQueryAttention (ONNX Runtime's GQA for decoders) converted where it computes a
// dense causal attention: no past cache (absent, or statically empty), no rotary embedding inside
// the op, no sink. ONNX Runtime then attends query row i of batch b to the new keys j ≤ i and
// j < seqlens_k[b] + 1, with the op's scale, softcap and local window; that is FlashAttention with
// causal=1 and key_lengths = seqlens_k + 1 (query and key lengths are equal, so the alignment is
// the same either way).
//
// With a past cache it is left as it is: GQA's present_key is [B, Hk, max(past, total), D] holding
// past[:seqlens_k + 1 - S], then the new keys, then zeros (or the past's own rows when ONNX
// Runtime shares the buffers), while FlashAttentionKVCache's cache output has the input cache's
// length and keeps the input's other rows: not the same tensor.
import { DT, dimEq, makeAttribute, makeInt32TensorAttribute, type Facts, type Graph, type Node } from '../../ir/index.js';
import type { AttentionPlan } from '../emit.js';
import { broadcastProblem } from './masks.js';

export const PATTERN = 'ms-group-query-attention';

const IN = { query: 0, key: 1, value: 2, pastKey: 3, pastValue: 4, seqlensK: 5, totalSeq: 6, cos: 7, sin: 8, positionIds: 9, bias: 10, headSink: 11 } as const;

const KNOWN_ATTRIBUTES = new Set(['num_heads', 'kv_num_heads', 'scale', 'softcap', 'local_window_size', 'do_rotary', 'rotary_interleaved', 'smooth_softmax', 'qk_output']);

export function planMsGroupQueryAttention(g: Graph, facts: Facts, node: Node): AttentionPlan | string {
  const hq = node.int('num_heads', 0), hk = node.int('kv_num_heads', 0);
  if (!hq || !hk || hq % hk !== 0) return 'GroupQueryAttention without num_heads / kv_num_heads, or num_heads not a multiple of kv_num_heads';
  if (node.int('do_rotary', 0)) return 'GroupQueryAttention applies rotary embeddings inside the op (do_rotary=1): FlashAttention has no rotary step';
  if (node.int('smooth_softmax', 0) || node.input(IN.headSink)) return 'GroupQueryAttention with smooth softmax or a head sink (an extra softmax term the op does not have)';
  // Attributes of later versions (quantized caches, ...) may change the math: only known ones pass.
  const unknown = node.proto.attribute.find((a) => !KNOWN_ATTRIBUTES.has(a.name));
  if (unknown) return `GroupQueryAttention attribute '${unknown.name}' is not known to this conversion`;
  const qkOut = node.outputs[3];
  if (qkOut && (g.usesOf(qkOut).length || g.isGraphOutput(qkOut))) return 'GroupQueryAttention output_qk is used';
  const past = [node.input(IN.pastKey), node.input(IN.pastValue)].filter((x): x is string => !!x);
  if (past.some((p) => facts.shape(p)?.[2] !== 0)) {
    return 'GroupQueryAttention with a past KV cache: its present_key/value (past rows up to seqlens_k + 1 - S, new rows, then zeros, ' +
      'length max(past, total_sequence_length)) are not the cache FlashAttentionKVCache writes (the input cache\'s length, its other rows kept)';
  }
  const seqlensK = node.input(IN.seqlensK), totalSeq = node.input(IN.totalSeq);
  if (!seqlensK || facts.dtype(seqlensK) !== DT.INT32) return 'GroupQueryAttention without an int32 seqlens_k';

  const q = node.input(IN.query)!;
  const qs = facts.shape(q);
  if (!qs || qs.length !== 3 || typeof qs[2] !== 'number') return 'GroupQueryAttention query is not [B, S, hidden] with a static hidden size';
  let k = node.input(IN.key), v = node.input(IN.value);
  const packedQkv = !k;
  if (packedQkv !== !v) return 'GroupQueryAttention with only one of key and value';
  const headDim = packedQkv ? qs[2] / (hq + 2 * hk) : qs[2] / hq;
  if (!Number.isInteger(headDim)) return 'GroupQueryAttention hidden size is not a multiple of the head count';
  const [B, S] = [qs[0]!, qs[1]!];
  if (!packedQkv) {
    const ks = facts.shape(k!), vs = facts.shape(v!);
    if (ks?.length !== 3 || vs?.length !== 3) return 'GroupQueryAttention key/value are not [B, S, Hk·D] (rank-4 or unknown shapes)';
    if (ks[2] !== hk * headDim || vs[2] !== hk * headDim) return 'GroupQueryAttention key/value hidden sizes are not kv_num_heads · head_size';
    if (!dimEq(ks[1], S) || !dimEq(vs[1], S)) return 'GroupQueryAttention key length not proven equal to the query length';
  }

  // Present outputs without a past are the new keys and values in [B, Hk, S, D], when
  // total_sequence_length (their length) is proven to be S; otherwise their length is a run-time value.
  const presents = [1, 2].map((i) => node.outputs[i]).filter((o): o is string => !!o && (g.usesOf(o).length > 0 || g.isGraphOutput(o)));
  if (presents.length) {
    const total = facts.get(totalSeq)?.value?.[0];
    if (total === undefined || !dimEq(total, S)) return 'GroupQueryAttention present_key/value are used and their length total_sequence_length is not proven equal to the sequence length';
  }

  const attributes: Record<string, number | string> = { causal: 1, mask_alignment: 'bottom_right' };
  const softcap = node.float('softcap', 0);
  if (softcap > 0) attributes.softcap = softcap;
  // ONNX Runtime 1.30 (CPU, measured) keeps local_window_size keys, the query row's own included:
  // keys i - w + 1 .. i, so window_left = w - 1. (Earlier versions kept w + 1 keys.) Padded query
  // rows (i > seqlens_k) with a window: its float16 path differs from its float32 path, which the
  // op follows; rows of real tokens are equal in both.
  const window = node.int('local_window_size', -1);
  if (window === 0) return 'GroupQueryAttention with local_window_size 0 (no key at all)';
  if (window > 0) attributes.window_left = window - 1;
  const bias = node.input(IN.bias);
  if (bias) {
    const problem = broadcastProblem(facts, bias, [B, hq, S, S]);
    if (problem) return problem;
    // A row whose bias is -inf everywhere (a softmax of -inf) gives NaN in the original.
    attributes.masked_rows = 'nan';
  }
  const scaleAttr = node.float('scale', 0);
  const scale = scaleAttr !== 0 ? scaleAttr : 1 / Math.sqrt(headDim);

  const T = facts.dtype(q);
  const base = node.id.replace(/[^A-Za-z0-9_./-]/g, '_');
  let qIn = q;
  if (packedQkv) {
    qIn = g.freshName(`${base}/fa_q`); k = g.freshName(`${base}/fa_k`); v = g.freshName(`${base}/fa_v`);
    facts.set(qIn, { dtype: T, shape: [B, S, hq * headDim] });
    for (const x of [k, v]) facts.set(x, { dtype: T, shape: [B, S, hk * headDim] });
  }
  const keyLengths = g.freshName(`${base}/fa_key_lengths`);
  facts.set(keyLengths, { dtype: DT.INT32, shape: [B] });
  const add = (op: string, inputs: string[], outputs: string[], attrs: ReturnType<typeof makeAttribute>[] = []) =>
    g.insertBefore(node, { op, name: g.freshName(`${base}/fa_${op.toLowerCase()}`), inputs, outputs, attributes: attrs });
  const constInts = (values: number[]) => {
    const out = g.freshName(`${base}/fa_const`);
    add('Constant', [], [out], [makeAttribute('value_ints', values)]);
    return out;
  };
  const prepare = () => {
    if (packedQkv) {
      const sizes = [hq * headDim, hk * headDim, hk * headDim];
      if (g.opset >= 13) add('Split', [q, constInts(sizes)], [qIn, k!, v!], [makeAttribute('axis', 2)]);
      else add('Split', [q], [qIn, k!, v!], [makeAttribute('axis', 2), makeAttribute('split', sizes)]);
    }
    // seqlens_k is the total length minus one (ONNX Runtime's convention).
    const one = g.freshName(`${base}/fa_one`);
    add('Constant', [], [one], [makeInt32TensorAttribute('value', [1], [])]);
    add('Add', [seqlensK, one], [keyLengths]);
    for (const [i, src] of [[1, k!], [2, v!]] as const) {
      const name = node.outputs[i];
      if (!name || !presents.includes(name)) continue;
      g.detachOutput(node, name);
      const heads = g.freshName(`${base}/fa_present_heads`);
      add('Reshape', [src, constInts([0, 0, hk, headDim])], [heads]);
      g.claimOutput(add('Transpose', [heads], [name], [makeAttribute('perm', [0, 2, 1, 3])]), name);
    }
  };
  return {
    id: node.id,
    pattern: PATTERN,
    resultNode: node,
    q: [{ value: qIn, form: 'packed', heads: hq, headDim, scale: 1, through: [] }],
    k: [{ value: k!, form: 'packed', heads: hk, headDim, scale: 1, through: [] }],
    v: [{ value: v!, form: 'packed', heads: hk, headDim, scale: 1, through: [] }],
    deliveries: [{ value: node.outputs[0]!, form: 'packed', through: [], shapeReads: [] }],
    scale,
    attributes,
    biases: bias ? [bias] : [],
    masks: [],
    negatedMasks: [],
    keyLengths,
    matched: [node],
    prepare,
  };
}
