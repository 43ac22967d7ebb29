"""Turns a model rewritten by fa-onnx into the same model on ONNX Runtime's own fused attention.

Every fa_onnx.FlashAttention node becomes com.microsoft.MultiHeadAttention (which ONNX Runtime's
CUDA provider runs on cuDNN's fused kernel on H100), with the layout changes MultiHeadAttention
needs: query/key/value as [B, S, H*D], key/value heads repeated for GQA, a boolean mask turned into
an additive attention_bias, causal as unidirectional. It is the baseline of the end-to-end
comparison, so it refuses (exit 1) any node whose semantics it cannot carry over exactly.
usage: python3 to_mha.py IN.fa.onnx OUT.mha.onnx REPORT.json   (REPORT: `fa-onnx rewrite --json`)
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class Builder:
    def __init__(self, graph, prefix):
        self.graph, self.prefix, self.nodes, self.count = graph, prefix, [], 0

    def name(self, what):
        self.count += 1
        return f"{self.prefix}/{what}_{self.count}"

    def const(self, values, dtype=np.int64):
        name = self.name("const")
        self.graph.initializer.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    def op(self, op_type, inputs, domain="", **kwargs):
        out = self.name(op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **kwargs))
        return out


def to_packed(b, x, rank, layout, heads, head_dim, repeat):
    """[B, S, H*D] from any fa-onnx form, with each head repeated `repeat` times (GQA)."""
    if rank == 4 and layout == "BHSD":
        x = b.op("Transpose", [x], perm=[0, 2, 1, 3])  # -> [B, S, H, D]
    elif rank == 3 and repeat > 1:
        x = b.op("Reshape", [x, b.const([0, 0, heads, head_dim])])
    if repeat > 1:
        x = b.op("Unsqueeze", [x, b.const([3])])  # [B, S, H, 1, D]
        x = b.op("Expand", [x, b.const([1, 1, 1, repeat, 1])])
    if rank == 4 or repeat > 1:
        x = b.op("Reshape", [x, b.const([0, 0, -1])])
    return x


def convert(model, forms):
    """forms: fused node name -> {'q': form, 'k': form, 'v': form} from the rewrite report."""
    graph = model.graph
    new_nodes, converted = [], 0
    for node in graph.node:
        if node.domain != "fa_onnx":
            new_nodes.append(node)
            continue
        if node.op_type != "FlashAttention":
            raise SystemExit(f"to_mha: {node.op_type} has no MultiHeadAttention equivalent here")
        a = attrs(node)
        layout = a.get("layout", b"BSHD").decode() if isinstance(a.get("layout"), bytes) else a.get("layout", "BSHD")
        hq, hk = a.get("num_heads", 0), a.get("kv_num_heads", 0)
        if not hq or not hk:
            raise SystemExit(f"to_mha: {node.name} lacks num_heads/kv_num_heads")
        for unsupported in ("softcap", "window_left", "window_right"):
            if a.get(unsupported, 0 if unsupported == "softcap" else -1) not in (0, 0.0, -1):
                raise SystemExit(f"to_mha: {node.name} uses {unsupported}")
        align = a.get("mask_alignment", b"top_left")
        align = align.decode() if isinstance(align, bytes) else align
        inputs = list(node.input) + [""] * (7 - len(node.input))
        if inputs[5] or inputs[6]:
            raise SystemExit(f"to_mha: {node.name} uses key_lengths or ALiBi")
        if a.get("causal", 0) and align != "top_left":
            raise SystemExit(f"to_mha: {node.name} is causal bottom-right")
        if len(node.output) > 1 and node.output[1]:
            raise SystemExit(f"to_mha: {node.name} asks for the log-sum-exp")
        b = Builder(graph, node.name or f"fa{converted}")
        site = forms.get(node.name)
        if site is None:
            raise SystemExit(f"to_mha: {node.name} is not in the rewrite report")
        ranks = [3 if site[t] == "packed" else 4 for t in ("q", "k", "v")]
        d = -1  # head dims are taken from the tensors by Reshape
        q = to_packed(b, inputs[0], ranks[0], layout, hq, d, 1)
        k = to_packed(b, inputs[1], ranks[1], layout, hk, d, hq // hk)
        v = to_packed(b, inputs[2], ranks[2], layout, hk, d, hq // hk)
        mha_inputs = [q, k, v, "", "", ""]
        bias_terms = []
        if inputs[3]:
            bias_terms.append(inputs[3])
        if inputs[4]:  # bool mask -> 0 / large negative, in the query's float type
            elem = next((vi.type.tensor_type.elem_type for vi in list(graph.input) + list(graph.value_info)
                         if vi.name == inputs[0]), TensorProto.FLOAT16)
            np_t = np.float16 if elem == TensorProto.FLOAT16 else np.float32
            zero, neg = b.const([0.0], np_t), b.const([-10000.0], np_t)
            bias_terms.append(b.op("Where", [inputs[4], zero, neg]))
        if bias_terms:
            bias = bias_terms[0] if len(bias_terms) == 1 else b.op("Add", bias_terms)
            # MultiHeadAttention wants the bias's last two dims in full: [B or 1, N or 1, Sq, Sk].
            sq = b.op("Shape", [q], start=1, end=2)
            sk = b.op("Shape", [k], start=1, end=2)
            target = b.op("Concat", [b.const([1, 1]), sq, sk], axis=0)
            mha_inputs[5] = b.op("Expand", [bias, target])
        kwargs = {"num_heads": hq}
        if a.get("scale", 0.0):
            kwargs["scale"] = float(a["scale"])
        if a.get("causal", 0):
            kwargs["unidirectional"] = 1
        out = b.op("MultiHeadAttention", mha_inputs, domain="com.microsoft", **kwargs)
        # Back to the query's form with Dv = D.
        if ranks[0] == 4:
            out = b.op("Reshape", [out, b.const([0, 0, hq, d])])
            if layout == "BHSD":
                out = b.op("Transpose", [out], perm=[0, 2, 1, 3])
        b.nodes[-1].output[0] = node.output[0]
        new_nodes.extend(b.nodes)
        converted += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    opsets = [o for o in model.opset_import if o.domain != "fa_onnx"]
    if not any(o.domain == "com.microsoft" for o in opsets):
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    return converted


def main(src, dst, report):
    with open(report) as f:
        sites = json.load(f)["sites"]
    forms = {f"{s['id']}/FlashAttention": s["attributes"] for s in sites if s["status"] == "fused"}
    model = onnx.load(src)
    n = convert(model, forms)
    onnx.save(model, dst)
    print(f"to_mha: {n} FlashAttention nodes -> MultiHeadAttention in {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
