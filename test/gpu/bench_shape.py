"""One attention shape, as a model's node runs it, timed through the portable kernel (FA_ONNX_HOPPER=0)
and through the dispatch, with the same timing rules as bench.py (device events, warm-up, median,
input sets rotated). For questions like "which route is faster for this model's attention".

  python3 bench_shape.py LIB.so B HQ HKV S D [--causal] [--key-padding] [--masked-rows zero|uniform|nan]
                         [--dtype fp16|bf16] [--layout bhsd|bshd]

--key-padding passes an all-true [B,1,1,S] boolean mask (what the rewriter emits for an attention_mask
input it cannot prove all-true), so the per-key mask path runs as it does in the model.
"""
import argparse
import math
import os

import torch

import fa
from bench import timed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    for name in ("B", "HQ", "HKV", "S", "D"):
        ap.add_argument(name, type=int)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--key-padding", action="store_true")
    ap.add_argument("--masked-rows", choices=list(fa.MASKED), default="zero")
    ap.add_argument("--dtype", choices=["fp16", "bf16"], default="fp16")
    ap.add_argument("--layout", choices=["bhsd", "bshd"], default="bhsd")
    a = ap.parse_args()
    lib = fa.load(a.lib)
    dt = {"fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    B, S, D = a.B, a.S, a.D

    def tensor(h):
        shape = (B, h, S, D) if a.layout == "bhsd" else (B, S, h, D)
        return torch.randn(*shape, device="cuda", dtype=dt)

    sets = [(tensor(a.HQ), tensor(a.HKV), tensor(a.HKV)) for _ in range(3)]
    sets = [(q, k, v, torch.empty_like(q)) for q, k, v in sets]
    mask = torch.ones(B, 1, 1, S, device="cuda", dtype=torch.bool) if a.key_padding else None
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[dt], B, a.HQ, a.HKV
    p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = S, S, D, D
    p.scale, p.window_right = 1 / math.sqrt(D), (0 if a.causal else -1)
    p.mask = fa.bview(mask, (B, a.HQ, S, S))
    p.masked_rows = fa.MASKED[a.masked_rows]
    stream = torch.cuda.current_stream().cuda_stream

    def run(q, k, v, o):
        p.q, p.k, p.v, p.o = (fa.view(t, a.layout) for t in (q, k, v, o))
        err = fa.run(lib, p, stream)
        if err:
            raise RuntimeError(err)

    flop = 4 * B * a.HQ * S * S * D / (2 if a.causal else 1)
    print(f"B {B}, heads {a.HQ}/{a.HKV}, S {S}, D {D}, {a.dtype}, {a.layout}, causal {a.causal}, "
          f"key-padding mask {a.key_padding}, masked_rows {a.masked_rows}; {torch.cuda.get_device_name()}")
    for route, env in (("portable kernel", "0"), ("dispatch", None)):
        if env is None:
            os.environ.pop("FA_ONNX_HOPPER", None)
        else:
            os.environ["FA_ONNX_HOPPER"] = env
        ms = timed(run, sets)
        print(f"  {route:16s} {ms * 1e3:8.1f} us  {flop / (ms * 1e-3) / 1e12:6.0f} TFLOP/s")
    os.environ.pop("FA_ONNX_HOPPER", None)


if __name__ == "__main__":
    main()
