// ONNX Runtime's contrib attention ops (com.microsoft.Attention's mask_index, MultiHeadAttention's
// key_padding_mask) read a [B, Sk] key mask as an additive term: 0 where the mask is > 0 and
// mask_filter_value (a finite constant, -10000 by default) elsewhere. Written as that [B,1,1,Sk]
// bias, the fused node computes the same thing, fully masked rows included.
import { DT, dimEq, makeAttribute, makeInt32TensorAttribute, type Dim, type Facts, type Graph, type Node } from '../../ir/index.js';

export interface KeyMaskBias {
  /** The bias value (facts already set); its nodes are written by `write`. */
  value: string;
  write: () => void;
}

/** The bias for `mask` read by `node`, or why it cannot be written. */
export function keyMaskBias(g: Graph, facts: Facts, node: Node, mask: string, dtype: number, batch: Dim, keys: Dim): KeyMaskBias | string {
  const ms = facts.shape(mask);
  if (facts.dtype(mask) !== DT.INT32 || ms?.length !== 2 || !dimEq(ms[0], batch) || !dimEq(ms[1], keys)) {
    return `${node.op} key mask other than an int32 [B, Sk] mask (lengths, 3-D or 4-D forms) is not converted`;
  }
  const base = node.id.replace(/[^A-Za-z0-9_./-]/g, '_');
  const value = g.freshName(`${base}/fa_key_mask_bias`);
  facts.set(value, { dtype, shape: [batch, 1, 1, keys] });
  const add = (op: string, inputs: string[], attrs: ReturnType<typeof makeAttribute>[] = [], out = g.freshName(`${base}/fa_key_mask_${op.toLowerCase()}`)) => {
    g.insertBefore(node, { op, name: g.freshName(`${base}/fa_key_mask_${op}`), inputs, outputs: [out], attributes: attrs });
    return out;
  };
  const write = () => {
    const inT = (x: number) => add('Cast', [add('Constant', [], [makeAttribute('value_float', x, true)])], [makeAttribute('to', dtype)]);
    const keep = add('Greater', [mask, add('Constant', [], [makeInt32TensorAttribute('value', [0], [])])]);
    const additive = add('Where', [keep, inT(0), inT(node.float('mask_filter_value', -10000))]);
    if (g.opset >= 13) add('Unsqueeze', [additive, add('Constant', [], [makeAttribute('value_ints', [1, 2])])], [], value);
    else add('Unsqueeze', [additive], [makeAttribute('axes', [1, 2])], value);
  };
  return { value, write };
}
