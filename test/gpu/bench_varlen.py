"""Timing of FlashAttentionVarlen on the GPU machine: the Hopper kernel (through test/gpu/hopper's
shim, fa_hopper_run_params; it reports hopper::Unsupported(), empty when the dispatch would take it),
torch's FA-2 varlen (aten._flash_attention_forward) and, given the dispatch library (test/gpu/shim.cu),
the portable kernel (FA_ONNX_HOPPER=0, toggled in-process: the dispatch reads it per call), in one run;
for 8 equal sequences also the dense call of the same shape (ours and torch flash SDPA). cuDNN has no
varlen entry in torch's API, so it is not timed. Device events, 3 warm-up launches, median of
10 × 10 launches, three input sets of ~200 MB (beyond L2).
Usage: python3 bench_varlen.py HOPPER_LIB.so [DISPATCH_LIB.so]
"""
import ctypes
import importlib.util
import math
import os
import sys

import torch
import torch.nn.functional as F

import fa

# The Hopper checks' timer, loaded by path (test/gpu has a check.py of its own).
_spec = importlib.util.spec_from_file_location(
    "hopper_check", os.path.join(os.path.dirname(os.path.abspath(__file__)), "hopper", "check.py"))
hopper_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hopper_check)

TOKENS, HD = 16384, 2048  # 16k packed tokens, heads·D = 2048
EQUAL = (2048,) * 8
MIXED = (4096, 512, 3000, 1024, 2500, 128, 3500, 1624)  # sums to 16384


def time_ms(fn, n_sets):
    """hopper/check.py's timer (median of launches rotating over n_sets input sets) for fn(set index)."""
    return hopper_check.time_ms(fn, [(i,) for i in range(n_sets)])


def varlen_params(q, k, v, o, cu, lens, max_q, causal):
    T, H, D = q.shape
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[q.dtype], len(lens), H, H
    p.seqlen_q = p.seqlen_k = max_q
    p.head_dim = p.head_dim_v = D
    p.q, p.k, p.v, p.o = fa.view(q, "thd"), fa.view(k, "thd"), fa.view(v, "thd"), fa.view(o, "thd")
    p.cu_seqlens_q = p.cu_seqlens_k = cu.data_ptr()
    p.total_q = p.total_k = T
    p.scale, p.window_right = 1 / math.sqrt(D), (0 if causal else -1)
    return p


def dense_params(q, k, v, o, causal):
    B, S, H, D = q.shape
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[q.dtype], B, H, H
    p.seqlen_q = p.seqlen_k = S
    p.head_dim = p.head_dim_v = D
    p.q, p.k, p.v, p.o = fa.view(q, "bshd"), fa.view(k, "bshd"), fa.view(v, "bshd"), fa.view(o, "bshd")
    p.scale, p.window_right = 1 / math.sqrt(D), (0 if causal else -1)
    return p


def run_hopper(hlib, params):
    err = ctypes.create_string_buffer(512)

    def fn(i):
        s = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
        if hlib.fa_hopper_run_params(ctypes.byref(params[i]), s, err, 512) != 0:
            raise RuntimeError(err.value.decode())
    return time_ms(fn, len(params))


def run_ours(lib, params, env_hopper):
    if env_hopper:
        os.environ.pop("FA_ONNX_HOPPER", None)
    else:
        os.environ["FA_ONNX_HOPPER"] = "0"

    def fn(i):
        err = fa.run(lib, params[i])
        if err:
            raise RuntimeError(err)
    try:
        return time_ms(fn, len(params))
    finally:
        os.environ.pop("FA_ONNX_HOPPER", None)


def hopper_gate(hlib, p):
    """What hopper::Unsupported says of these params ('' = the dispatch runs the Hopper kernel)."""
    if hlib is None:
        return "?"
    err = ctypes.create_string_buffer(512)
    rc = hlib.fa_hopper_run_params(ctypes.byref(p), ctypes.c_void_p(torch.cuda.current_stream().cuda_stream), err, 512)
    return ("error: " if rc else "") + err.value.decode()


def main():
    hlib = fa.load(sys.argv[1])
    lib = fa.load(sys.argv[2]) if len(sys.argv) > 2 else None
    dt = torch.bfloat16
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
    print("| lengths | D | causal | max_seqlen | Hopper | portable | torch FA-2 varlen | dense Hopper | torch flash dense |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for D in (64, 128):
        H = HD // D
        for causal in (False, True):
            for name, lens in (("8 x 2048", EQUAL), ("mixed", MIXED)):
                flops = sum(4 * s * s * H * D for s in lens) / (2 if causal else 1)
                tf = lambda ms: flops / (ms * 1e-3) / 1e12
                sets = [tuple(torch.randn(TOKENS, H, D, device="cuda", dtype=dt) for _ in range(3)) for _ in range(3)]
                outs = [torch.empty_like(s[0]) for s in sets]
                cu = torch.tensor([0] + torch.tensor(lens).cumsum(0).tolist(), dtype=torch.int32, device="cuda")
                for max_q in (max(lens), TOKENS) if name == "mixed" else (max(lens),):
                    params = [varlen_params(q, k, v, o, cu, lens, max_q, causal) for (q, k, v), o in zip(sets, outs)]
                    gate = hopper_gate(hlib, params[0])
                    if gate:
                        print(f"  Hopper kernel gate at {name} D{D} causal{int(causal)}: {gate!r}")
                    hop = run_hopper(hlib, params)
                    port = run_ours(lib, params, False) if lib is not None and max_q == max(lens) else float("nan")
                    try:
                        fa2 = time_ms(lambda i: torch.ops.aten._flash_attention_forward(
                            sets[i][0], sets[i][1], sets[i][2], cu, cu, max_q, max_q, 0.0, causal, False,
                            scale=1 / math.sqrt(D)), 3) if max_q == max(lens) else float("nan")
                    except (RuntimeError, TypeError) as e:
                        print(f"  torch varlen failed: {str(e)[:100]}")
                        fa2 = float("nan")
                    dense = fdense = float("nan")
                    if name == "8 x 2048":
                        dsets = [tuple(t.view(8, 2048, H, D) for t in s) for s in sets]
                        douts = [o.view(8, 2048, H, D) for o in outs]
                        dparams = [dense_params(q, k, v, o, causal) for (q, k, v), o in zip(dsets, douts)]
                        dense = run_hopper(hlib, dparams)
                        tsets = [tuple(t.transpose(1, 2) for t in s) for s in dsets]
                        from torch.nn.attention import SDPBackend, sdpa_kernel
                        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                            fdense = time_ms(lambda i: F.scaled_dot_product_attention(*tsets[i], is_causal=causal), 3)
                    cells = " | ".join("-" if math.isnan(ms) else f"{tf(ms):.0f} ({ms * 1e3:.0f} us)"
                                       for ms in (hop, port, fa2, dense, fdense))
                    print(f"| {name} | {D} | {'yes' if causal else 'no'} | {max_q} | {cells} |", flush=True)
                del sets, outs
    return 0


if __name__ == "__main__":
    sys.exit(main())
