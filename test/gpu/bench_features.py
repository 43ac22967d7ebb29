"""What each op feature costs: the same attention (fp16, S 2048, B·S = 8k tokens) timed plain and
with each feature the rewriter emits (additive bias, boolean mask, key-padding mask, key lengths,
ALiBi, softcap, causal), on the portable kernel and through the dispatch, beside torch SDPA given
the equivalent attn_mask (its memory-efficient and cuDNN backends, where they take it).
Same timing rules as bench.py. Usage: python3 bench_features.py LIB.so OUT.json. FEATURES_D (default "64 128")
picks the head dims."""
import json
import math
import os
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import fa
from bench import timed

S, TOKENS, HD = 2048, 8192, 2048  # sequence, batch·S, heads·D


def features(B, H):
    """name -> (kwargs for our params, torch attn_mask builder or None, is_causal)."""
    g = torch.Generator(device="cuda").manual_seed(0)
    lens = torch.randint(S // 2, S + 1, (B,), device="cuda", generator=g, dtype=torch.int32)
    pad = torch.arange(S, device="cuda")[None, :] < lens[:, None]  # [B, S] key padding
    return {
        "plain": ({}, None, False),
        "causal": ({"causal": True}, None, True),
        "bias fp16 [1,1,S,S]": ({"bias": torch.randn(1, 1, S, S, device="cuda", dtype=torch.float16)}, "bias", False),
        "bool mask [1,1,S,S]": ({"mask": torch.rand(1, 1, S, S, device="cuda", generator=g) < 0.9}, "mask", False),
        "key-padding mask [B,1,1,S]": ({"mask": pad[:, None, None, :]}, "mask", False),
        "key-padding bias [B,1,1,S]": ({"bias": torch.where(pad, 0.0, -65504.0).half()[:, None, None, :]}, "bias", False),
        "causal + key-padding mask": ({"causal": True, "mask": pad[:, None, None, :]}, "mask", True),
        "key_lengths": ({"key_len": lens}, None, False),
        "alibi": ({"alibi": torch.rand(H, device="cuda", generator=g)}, None, False),
        "softcap 30": ({"softcap": 30.0}, None, False),
    }


def main():
    lib = fa.load(sys.argv[1])
    rows = []
    stream = torch.cuda.current_stream().cuda_stream
    for D in [int(x) for x in os.environ.get("FEATURES_D", "64 128").split()]:
        B, H = TOKENS // S, HD // D
        sets = [tuple(torch.randn(B, S, H, D, device="cuda", dtype=torch.float16) for _ in range(3)) for _ in range(3)]
        sets = [(q, k, v, torch.empty_like(q)) for q, k, v in sets]
        for name, (kw, torch_mask, causal) in features(B, H).items():
            p = fa.AttentionParams()
            p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[torch.float16], B, H, H
            p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = S, S, D, D
            p.scale, p.softcap = 1 / math.sqrt(D), kw.get("softcap", 0.0)
            p.window_right = 0 if kw.get("causal") else -1
            shape4 = (B, H, S, S)
            p.bias, p.mask = fa.bview(kw.get("bias"), shape4), fa.bview(kw.get("mask"), shape4)
            keep = [kw.get("bias"), kw.get("mask")]
            if "key_len" in kw:
                p.key_lengths = kw["key_len"].data_ptr()
            if "alibi" in kw:
                p.alibi_slopes = kw["alibi"].data_ptr()

            def ours(q, k, v, o):
                p.q, p.k, p.v, p.o = fa.view(q, "bshd"), fa.view(k, "bshd"), fa.view(v, "bshd"), fa.view(o, "bshd")
                err = fa.run(lib, p, stream)
                if err:
                    raise RuntimeError(err)

            am = None
            if torch_mask == "bias":
                am = kw["bias"]
            elif torch_mask == "mask":
                am = kw["mask"]

            def sdpa(backend):
                def f(q, k, v, o):
                    with sdpa_kernel(backend):
                        torch.nn.functional.scaled_dot_product_attention(
                            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=am, is_causal=causal)
                return f

            flop = 4 * B * H * S * S * D / (2 if causal else 1)
            row = {"D": D, "B": B, "H": H, "S": S, "feature": name}
            torch_ok = name in ("plain", "causal") or am is not None
            impls = [("ours", ours), ("dispatch", ours)]
            if torch_ok:
                impls += [("efficient", sdpa(SDPBackend.EFFICIENT_ATTENTION)), ("cudnn", sdpa(SDPBackend.CUDNN_ATTENTION))]
            for impl, fn in impls:
                if impl == "ours":
                    os.environ["FA_ONNX_HOPPER"] = "0"
                else:
                    os.environ.pop("FA_ONNX_HOPPER", None)
                try:
                    row[impl] = flop / (timed(fn, sets) * 1e-3) / 1e12
                except Exception as e:  # a backend that refuses a feature is recorded as such
                    row[impl] = None
                    row[impl + "_error"] = str(e)[:160]
            os.environ.pop("FA_ONNX_HOPPER", None)
            del keep
            rows.append(row)
            f = lambda x: "  n/a" if x is None else f"{x:5.0f}"
            print(f"D{D:<3d} {name:28s} ours {f(row['ours'])}  dispatch {f(row['dispatch'])}  "
                  f"efficient {f(row.get('efficient'))}  cudnn {f(row.get('cudnn'))}", flush=True)
        del sets
    with open(sys.argv[2], "w") as fh:
        json.dump({"device": torch.cuda.get_device_name(), "rows": rows}, fh, indent=1)
    print("\n| D | feature | ours (sm80 kernel) | dispatch | torch efficient | torch cuDNN |")
    g = lambda x: "n/a" if x is None else f"{x:.0f}"
    for r in rows:
        print(f"| {r['D']} | {r['feature']} | {g(r['ours'])} | {g(r['dispatch'])} | {g(r.get('efficient'))} | {g(r.get('cudnn'))} |")


if __name__ == "__main__":
    main()
