#!/usr/bin/env python3
"""Numerics, sanitizer case and benchmark of the Hopper kernel, through the ctypes shim (shim.cu).

  check.py --lib libfahopper.so numerics   every case against a float64 reference (exit 1 on a failure)
  check.py --lib libfahopper.so sanitize   a few small cases (run under compute-sanitizer)
  check.py --lib libfahopper.so bench      the anchors.md grid against torch flash and cuDNN SDPA
Varlen cases go through fa_hopper_run_params with test/gpu/fa.py's ctypes AttentionParams (its layout
is checked against the shim's at load).
"""
import argparse
import ctypes
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import fa  # noqa: E402  (test/gpu/fa.py: AttentionParams mirror, float64 reference)

DTYPES = {torch.float16: 1, torch.bfloat16: 2}


class Kernel:
    def __init__(self, path):
        self.lib = fa.load(path)  # asserts that fa.AttentionParams matches the C++ layout
        g = self.lib.fa_hopper_run_params
        g.restype = ctypes.c_int
        g.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        f = self.lib.fa_hopper_run
        f.restype = ctypes.c_int
        P = ctypes.c_void_p
        f.argtypes = [ctypes.c_int] * 7 + [P, P, P, P, P, P, P, P, P, P, P, ctypes.c_float, ctypes.c_float,
                                           ctypes.c_int, ctypes.c_int, ctypes.c_int, P, P, P, P, P, P, ctypes.c_int64,
                                           ctypes.c_char_p, ctypes.c_int]
        self.err = ctypes.create_string_buffer(512)
        self.keep = []

    @staticmethod
    def _strides(t):
        # t is a [B, S, H, D] view: batch, seq, head strides in elements
        arr = (ctypes.c_int64 * 3)(t.stride(0), t.stride(1), t.stride(2))
        return arr

    def prepare(self, q, k, v, o, lse=None, key_lengths=None, scale=None, softcap=0.0, window=(-1, -1),
                bottom_right=False, bias=None, mask=None, alibi=None):
        """Returns a zero-argument callable that launches on the current stream. bias (q's dtype) and
        mask (bool) broadcast to [B, Hq, Sq, Sk] (numpy rules, as the op's inputs)."""
        B, Sq, Hq, D = q.shape
        Sk, Hk = k.shape[1], k.shape[2]
        scale = scale if scale is not None else 1.0 / math.sqrt(D)
        qs, ks, vs, os_ = (self._strides(t) for t in (q, k, v, o))
        ls = (ctypes.c_int64 * 3)(*(lse.stride() if lse is not None else (0, 0, 0)))

        def bstrides(t):
            if t is None:
                return None
            e = t.reshape((1,) * (4 - t.dim()) + tuple(t.shape)).expand(B, Hq, Sq, Sk)
            return (ctypes.c_int64 * 4)(*e.stride())
        bs, ms = bstrides(bias), bstrides(mask)
        self.keep.append((qs, ks, vs, os_, ls, bs, ms, bias, mask, alibi))
        stream = torch.cuda.current_stream().cuda_stream
        args = (DTYPES[q.dtype], B, Hq, Hk, Sq, Sk, D, q.data_ptr(), qs, k.data_ptr(), ks, v.data_ptr(), vs,
                o.data_ptr(), os_, lse.data_ptr() if lse is not None else None, ls,
                key_lengths.data_ptr() if key_lengths is not None else None, scale, softcap, window[0], window[1],
                int(bottom_right), bias.data_ptr() if bias is not None else None, bs,
                mask.data_ptr() if mask is not None else None, ms, alibi.data_ptr() if alibi is not None else None,
                (Hq if alibi is not None and alibi.dim() == 2 else 0), stream, self.err, 512)
        f = self.lib.fa_hopper_run

        def launch():
            if f(*args) != 0:
                raise RuntimeError(self.err.value.decode())
        return launch

    def gate(self):
        return self.err.value.decode()

    def prepare_params(self, p):
        """A zero-argument launcher of a whole fa.AttentionParams (kept alive here)."""
        self.keep.append(p)
        stream = torch.cuda.current_stream().cuda_stream
        g = self.lib.fa_hopper_run_params

        def launch():
            if g(ctypes.byref(p), stream, self.err, 512) != 0:
                raise RuntimeError(self.err.value.decode())
        return launch


def reference(q, k, v, key_lengths, scale, softcap, window, bottom_right, bias=None, mask=None, alibi=None):
    """float64 attention per ops/README.md; fully masked rows give zeros and lse -inf."""
    B, Sq, Hq, D = q.shape
    Sk, Hk = k.shape[1], k.shape[2]
    g = Hq // Hk
    qd = q.double().permute(0, 2, 1, 3)
    kd = k.double().permute(0, 2, 1, 3).repeat_interleave(g, dim=1)
    vd = v.double().permute(0, 2, 1, 3).repeat_interleave(g, dim=1)
    s = torch.matmul(qd, kd.transpose(-1, -2)) * scale
    if softcap > 0:
        s = softcap * torch.tanh(s / softcap)
    if bias is not None:
        s = s + bias.double()
    i = torch.arange(Sq, device=q.device).view(Sq, 1)
    j = torch.arange(Sk, device=q.device).view(1, Sk)
    pos = i + (Sk - Sq if bottom_right else 0)
    if alibi is not None:  # [Hq] or [B, Hq]: s -= slope·|pos_q(i) - j|
        sl = alibi.double().expand(B, Hq) if alibi.dim() == 2 else alibi.double().view(1, Hq).expand(B, Hq)
        s = s - sl[:, :, None, None] * (pos - j).abs().double()[None, None]
    ok = torch.ones(Sq, Sk, dtype=torch.bool, device=q.device)
    if window[1] >= 0:
        ok &= j <= pos + window[1]
    if window[0] >= 0:
        ok &= j >= pos - window[0]
    ok = ok.view(1, 1, Sq, Sk).expand(B, Hq, Sq, Sk)
    if key_lengths is not None:
        ok = ok & (j.view(1, 1, 1, Sk) < key_lengths.view(B, 1, 1, 1).long())
    if mask is not None:
        ok = ok & mask
    s = s.masked_fill(~ok, -math.inf)
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - lse.unsqueeze(-1))
    p = torch.nan_to_num(p, nan=0.0)
    out = torch.matmul(p, vd)
    return out.permute(0, 2, 1, 3), lse  # [B, Sq, Hq, D], [B, Hq, Sq]


def make_qkv(B, Sq, Sk, Hq, Hk, D, dtype, layout, sets=1):
    def one(S, H):
        if layout == "BSHD":
            return torch.randn(B, S, H, D, device="cuda", dtype=dtype)
        return torch.randn(B, H, S, D, device="cuda", dtype=dtype).transpose(1, 2)  # BHSD storage
    return [(one(Sq, Hq), one(Sk, Hk), one(Sk, Hk)) for _ in range(sets)]


def numerics_cases():
    c = []
    for dtype in (torch.bfloat16, torch.float16):
        for D in (64, 128, 256):
            c.append(dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=512, Sk=512))
            c.append(dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=640, Sk=640, causal=True))
    for D in (64, 128, 256):
        c += [
            dict(dtype=torch.bfloat16, D=D, B=1, Hq=6, Hk=2, Sq=1000, Sk=777, layout="BHSD"),
            dict(dtype=torch.bfloat16, D=D, B=2, Hq=4, Hk=1, Sq=300, Sk=1100, causal=True, bottom_right=True),
            dict(dtype=torch.float16, D=D, B=2, Hq=4, Hk=2, Sq=777, Sk=300, causal=True, bottom_right=True),
            dict(dtype=torch.float16, D=D, B=2, Hq=4, Hk=4, Sq=700, Sk=700, causal=True, layout="BHSD"),
            dict(dtype=torch.bfloat16, D=D, B=2, Hq=4, Hk=4, Sq=1024, Sk=1024, window=(200, 30)),
            dict(dtype=torch.bfloat16, D=D, B=2, Hq=4, Hk=4, Sq=513, Sk=513, softcap=30.0, causal=True),
            dict(dtype=torch.float16, D=D, B=3, Hq=4, Hk=2, Sq=400, Sk=900, key_lengths=[900, 1, 517]),
            dict(dtype=torch.bfloat16, D=D, B=1, Hq=2, Hk=2, Sq=1, Sk=4000),
            dict(dtype=torch.bfloat16, D=D, B=2, Hq=2, Hk=2, Sq=4096, Sk=4096, causal=True, scale=0.3),
            # Few tiles for the SMs: the key range is split and the splits merged (CombineSplits).
            dict(dtype=torch.bfloat16, D=D, B=1, Hq=2, Hk=1, Sq=100, Sk=5000),
            dict(dtype=torch.float16, D=D, B=2, Hq=2, Hk=2, Sq=300, Sk=3000, causal=True, bottom_right=True),
            dict(dtype=torch.bfloat16, D=D, B=2, Hq=4, Hk=2, Sq=64, Sk=2048, key_lengths=[2048, 300], softcap=20.0),
            dict(dtype=torch.bfloat16, D=D, B=1, Hq=4, Hk=4, Sq=256, Sk=4096, window=(500, 100), bottom_right=True),
        ]
    # Several tiles per CTA (the cases above mostly give each SM one): the next tile's Q loads and its
    # first Q·Kᵀ runs while a tile ends (two Q buffers, look-ahead); empty tiles (no keys) in between.
    for D in (64, 128, 256):
        c += [
            dict(dtype=torch.bfloat16, D=D, B=4, Hq=16, Hk=4, Sq=1024, Sk=1024, causal=True),
            dict(dtype=torch.float16, D=D, B=4, Hq=16, Hk=16, Sq=700, Sk=900, key_lengths=[900, 0, 333, 0]),
            dict(dtype=torch.bfloat16, D=D, B=8, Hq=16, Hk=8, Sq=300, Sk=300, softcap=25.0),
            # the two-Q-buffer kernels (≤ 1024 keys, tiles enough): causal bottom-right with Sk > Sq
            dict(dtype=torch.float16, D=D, B=4, Hq=16, Hk=4, Sq=600, Sk=900, causal=True, bottom_right=True),
        ]
    # D 128 on long keys with a tile per SM: the 176-key blocks (hopper_attention.cu), odd lengths.
    c += [
        dict(dtype=torch.bfloat16, D=128, B=2, Hq=8, Hk=4, Sq=1100, Sk=4500, layout="BHSD"),
        dict(dtype=torch.float16, D=128, B=2, Hq=8, Hk=8, Sq=1100, Sk=4200, key_lengths=[4200, 4097]),
    ]
    # D 128 with three consumer warpgroups and no intra-warpgroup overlap (non-causal, long keys, a tile per SM
    # or more): GQA with softcap and a ragged last query block; a left window with key lengths; causal bottom-right
    # (two warpgroups unless FA_HOPPER_D128_WGS3_CAUSAL).
    c += [
        dict(dtype=torch.bfloat16, D=128, B=2, Hq=48, Hk=8, Sq=1000, Sk=2500, softcap=20.0),
        dict(dtype=torch.float16, D=128, B=2, Hq=32, Hk=32, Sq=2100, Sk=2300, window=(700, -1),
             key_lengths=[2300, 1500]),
        dict(dtype=torch.float16, D=128, B=2, Hq=32, Hk=32, Sq=2100, Sk=2300, causal=True, bottom_right=True,
             key_lengths=[2300, 1500]),
        # 1025-2047 keys where 192-row tiles pad no more rows than 128-row ones (three warpgroups since
        # 2026-11-24): exact multiples of 192, and 1100 rows (both pad to 1152) with key lengths
        dict(dtype=torch.bfloat16, D=128, B=2, Hq=16, Hk=4, Sq=1536, Sk=1536),
        dict(dtype=torch.float16, D=128, B=2, Hq=16, Hk=16, Sq=1100, Sk=1300, key_lengths=[1300, 1029]),
        # D 64 with two Q buffers on 1025-2048 keys (three warpgroups), causal and with key lengths
        dict(dtype=torch.bfloat16, D=64, B=2, Hq=48, Hk=8, Sq=1500, Sk=1500, causal=True),
        dict(dtype=torch.float16, D=64, B=2, Hq=32, Hk=32, Sq=1300, Sk=1800, key_lengths=[1800, 1111]),
    ]
    # Bias and boolean mask: per key (broadcast over query rows: key padding) and per element.
    BIG = 2**31 - 1
    for dtype in (torch.bfloat16, torch.float16):
        for D in (64, 128, 256):
            c += [
                dict(dtype=dtype, D=D, B=3, Hq=4, Hk=4, Sq=700, Sk=700, mask=(3, 1, 1, 700), mask_lens=[700, 0, 333]),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=2, Sq=300, Sk=900, mask=(2, 1, 1, 900), mask_lens=[900, 450],
                     causal=True, bottom_right=True),
                dict(dtype=dtype, D=D, B=2, Hq=2, Hk=2, Sq=513, Sk=513, bias=(2, 1, 1, 513), bias_lens=[513, 100],
                     causal=True),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=200, Sk=777, bias=(1, 4, 1, 777), mask=(2, 1, 1, 777),
                     mask_lens=[777, 5], softcap=20.0, layout="BHSD"),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=333, Sk=333, bias=(2, 4, 333, 333)),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=2, Sq=400, Sk=400, mask=(1, 1, 400, 400), causal=True),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=257, Sk=300, mask=(2, 4, 257, 300), bias=(257, 300),
                     window=(100, 20), layout="BHSD"),
                # per-key masks with dead key blocks on either side (skipped) and holes (masked)
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=2, Sq=300, Sk=1000, mask=(2, 1, 1, 1000),
                     mask_ranges=[(0, 1000), (390, 1000)], causal=True, bottom_right=True),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=200, Sk=900, mask=(1, 4, 1, 900),
                     mask_ranges=[(130, 600), (0, 129), (700, 701), (0, 0)], holes=True, bias=(2, 1, 1, 900)),
                # few tiles: the split over the keys, with per-key and per-element terms
                dict(dtype=dtype, D=D, B=1, Hq=2, Hk=1, Sq=64, Sk=5000, mask=(1, 1, 1, 5000), mask_lens=[3001]),
                dict(dtype=dtype, D=D, B=1, Hq=2, Hk=2, Sq=100, Sk=3000, mask=(1, 1, 100, 3000), bias=(1, 2, 1, 3000)),
                # ALiBi: alone, causal bottom-right with GQA, with a 2-D mask and softcap, split
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=4, Sq=300, Sk=300, alibi="h"),
                dict(dtype=dtype, D=D, B=2, Hq=4, Hk=2, Sq=200, Sk=650, alibi="bh", causal=True, bottom_right=True),
                dict(dtype=dtype, D=D, B=2, Hq=2, Hk=2, Sq=257, Sk=257, alibi="h", mask=(2, 1, 257, 257), softcap=30.0,
                     window=(90, 90)),
                dict(dtype=dtype, D=D, B=1, Hq=2, Hk=2, Sq=50, Sk=4000, alibi="bh", key_lengths=[3500]),
                # a window of INT_MAX is no window (32-bit pos ± window must not wrap)
                dict(dtype=dtype, D=D, B=2, Hq=2, Hk=2, Sq=300, Sk=300, window=(BIG, BIG)),
                dict(dtype=dtype, D=D, B=2, Hq=2, Hk=2, Sq=200, Sk=500, window=(BIG, 0), bottom_right=True),
            ]
            if dtype == torch.float16:  # HuggingFace's fp16 fill: finite, so a padded-out row is not empty
                c.append(dict(dtype=dtype, D=D, B=2, Hq=2, Hk=2, Sq=300, Sk=600, bias=(2, 1, 1, 600), bias_lens=[600, 0],
                              bias_fill=-65504.0))
    return c


def make_extra(case, dtype):
    """The case's bias (q's dtype) and bool mask, shaped as given (broadcast to [B, Hq, Sq, Sk])."""
    Sk = case["Sk"]
    bias = mask = None

    def padding(shape, lens):
        keep = torch.arange(Sk, device="cuda")[None, :] < torch.tensor(lens, device="cuda")[:, None]
        return keep.view(shape)
    if "mask" in case:
        shape = case["mask"]
        if "mask_lens" in case:
            mask = padding(shape, case["mask_lens"])
        elif "mask_ranges" in case:  # keys lo..hi-1 of each (b, h) row of the mask, optionally with holes
            j = torch.arange(Sk, device="cuda")[None, :]
            lo = torch.tensor([r[0] for r in case["mask_ranges"]], device="cuda")[:, None]
            hi = torch.tensor([r[1] for r in case["mask_ranges"]], device="cuda")[:, None]
            mask = (j >= lo) & (j < hi)
            if case.get("holes"):
                mask &= torch.rand(mask.shape, device="cuda") > 0.2
            mask = mask.view(shape)
        else:
            mask = torch.rand(shape, device="cuda") > 0.3
            if shape[-2] > 5:
                mask[..., ::5, :] = False  # fully masked rows
    if "bias" in case:
        shape = case["bias"]
        bias = torch.randn(shape, device="cuda")
        if "bias_lens" in case:
            bias = torch.where(padding(shape, case["bias_lens"]), bias, case.get("bias_fill", -math.inf))
        elif shape[-2] > 3:
            bias[..., 3, :] = -math.inf  # a row masked through the additive term
        bias = bias.to(dtype)
    return bias, mask


def run_case(kern, case, check=True):
    dtype, D = case["dtype"], case["D"]
    B, Hq, Hk, Sq, Sk = case["B"], case["Hq"], case["Hk"], case["Sq"], case["Sk"]
    layout = case.get("layout", "BSHD")
    window = case.get("window", (-1, 0) if case.get("causal") else (-1, -1))
    bottom_right = case.get("bottom_right", False)
    softcap = case.get("softcap", 0.0)
    scale = case.get("scale", 1.0 / math.sqrt(D))
    kl = case.get("key_lengths")
    key_lengths = torch.tensor(kl, dtype=torch.int32, device="cuda") if kl is not None else None
    (q, k, v), = make_qkv(B, Sq, Sk, Hq, Hk, D, dtype, layout)
    bias, mask = make_extra(case, dtype)
    alibi = None
    if "alibi" in case:
        alibi = torch.rand((B, Hq) if case["alibi"] == "bh" else (Hq,), device="cuda")
    o = torch.full((B, Sq, Hq, D), float("nan"), device="cuda", dtype=dtype)
    if layout == "BHSD":
        o = torch.full((B, Hq, Sq, D), float("nan"), device="cuda", dtype=dtype).transpose(1, 2)
    lse = torch.full((B, Hq, Sq), float("nan"), device="cuda", dtype=torch.float32)
    kern.prepare(q, k, v, o, lse, key_lengths, scale, softcap, window, bottom_right, bias, mask, alibi)()
    torch.cuda.synchronize()
    if not check:
        return True, ""
    ref, ref_lse = reference(q, k, v, key_lengths, scale, softcap, window, bottom_right, bias, mask, alibi)
    od = o.double()
    nan = torch.isnan(od).any().item()
    err = ((od - ref).norm() / ref.norm().clamp_min(1e-30)).item()
    finite = torch.isfinite(ref_lse)
    lse_bad = (~torch.isfinite(lse.double()) != ~finite).any().item() or torch.isnan(lse).any().item()
    lse_err = ((lse.double()[finite] - ref_lse[finite]).abs().max().item() if finite.any() else 0.0)
    ok = (not nan) and err <= 1e-2 and (not lse_bad) and lse_err <= 1e-3 * max(1.0, ref_lse[finite].abs().max().item())
    desc = (f"{str(dtype)[6:]:8s} D{D:<3d} B{B} H{Hq}/{Hk} Sq{Sq} Sk{Sk} {layout} win{window} br{int(bottom_right)} "
            f"cap{softcap} kl{kl} bias{case.get('bias')} mask{case.get('mask')} alibi{case.get('alibi')}")
    return ok, f"{'PASS' if ok else 'FAIL'} {desc}: rel_l2={err:.2e} nan={nan} lse_err={lse_err:.1e} lse_pattern_bad={lse_bad}"


def run_varlen(kern, case, check=True):
    """A packed batch (FlashAttentionVarlen): sequence b has lens_q[b] query and lens_k[b] key tokens of
    [T, H, D] tensors (or raw offsets cu_q/cu_k, for the sanitizer). Outputs poisoned with NaN; each
    sequence against fa.reference in float64. `tail` tokens after the last sequence must stay untouched
    (the tiles of the last sequence read them through TMA but never write them); max_q/max_k stand in
    for max_seqlen (the CUDA registration passes the token count when the attribute is absent)."""
    dtype, D, Hq, Hk = case["dtype"], case["D"], case["Hq"], case["Hk"]
    lq, lk = case["lens_q"], case["lens_k"]
    tail = case.get("tail", 0)
    nq, nk = sum(lq), sum(lk)
    Tq, Tk = nq + tail, nk + tail
    causal, br = case.get("causal", False), case.get("bottom_right", False)
    wl, wr = case.get("window", (-1, 0 if causal else -1))
    softcap, masked = case.get("softcap", 0.0), case.get("masked", "zero")
    scale = 1.0 / math.sqrt(D)
    q = torch.randn(Tq, Hq, D, device="cuda").to(dtype)
    k, v = (torch.randn(Tk, Hk, D, device="cuda").to(dtype) for _ in range(2))
    o = torch.full_like(q, float("nan"))
    lse = torch.full((Hq, Tq), float("nan"), device="cuda") if case.get("lse", True) else None
    offs = lambda lens: [0] + torch.tensor(lens).cumsum(0).tolist()
    cq = torch.tensor(case.get("cu_q", offs(lq)), dtype=torch.int32, device="cuda")
    ck = torch.tensor(case.get("cu_k", offs(lk)), dtype=torch.int32, device="cuda")
    B = len(lq)
    al = None
    if "alibi" in case:
        al = torch.rand((B, Hq) if case["alibi"] == "bh" else (Hq,), device="cuda")
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[dtype], B, Hq, Hk
    p.seqlen_q, p.seqlen_k = case.get("max_q", max(lq)), case.get("max_k", max(lk))
    p.head_dim = p.head_dim_v = D
    p.q, p.k, p.v, p.o = fa.view(q, "thd"), fa.view(k, "thd"), fa.view(v, "thd"), fa.view(o, "thd")
    if lse is not None:
        p.lse, p.lse_batch_stride, p.lse_head_stride, p.lse_seq_stride = lse.data_ptr(), 0, Tq, 1
    p.cu_seqlens_q, p.cu_seqlens_k = cq.data_ptr(), ck.data_ptr()
    p.total_q, p.total_k = Tq, Tk
    p.scale, p.softcap, p.window_left, p.window_right, p.bottom_right = scale, softcap, wl, wr, br
    p.masked_rows = fa.MASKED[masked]
    if al is not None:
        p.alibi_slopes, p.alibi_batch_stride = al.data_ptr(), (Hq if al.dim() == 2 else 0)
    kern.keep.append((q, k, v, o, lse, cq, ck, al))
    kern.prepare_params(p)()
    torch.cuda.synchronize()
    if not check:
        return True, ""
    ro = torch.full((Tq, Hq, D), float("nan"), dtype=torch.float64, device="cuda")
    rl = torch.full((Hq, Tq), float("nan"), dtype=torch.float64, device="cuda")
    for b in range(B):
        q0, q1, k0, k1 = int(cq[b]), int(cq[b + 1]), int(ck[b]), int(ck[b + 1])
        if q1 == q0:
            continue
        alb = None if al is None else (al[b:b + 1] if al.dim() == 2 else al[None])
        out, l = fa.reference(q[None, q0:q1], k[None, k0:k1], v[None, k0:k1], scale, softcap, alibi=alb, wl=wl, wr=wr,
                              offset=((k1 - k0) - (q1 - q0)) if br else 0, masked_rows=masked)
        ro[q0:q1], rl[:, q0:q1] = out[0], l[0]
    err = fa.rel_l2(o, ro)
    lse_err = fa.rel_l2(lse, rl) if lse is not None else 0.0
    ok = err <= 1e-2 and lse_err <= 1e-2
    desc = (f"{str(dtype)[6:]:8s} D{D:<3d} varlen H{Hq}/{Hk} q{tuple(lq)} k{tuple(lk)} tail{tail} win({wl},{wr}) "
            f"br{int(br)} cap{softcap} alibi{case.get('alibi')} rows={masked} lse{int(lse is not None)} "
            f"max_q{p.seqlen_q}")
    return ok, f"{'PASS' if ok else 'FAIL'} {desc}: rel_l2={err:.2e} lse_rel_l2={lse_err:.2e}"


def varlen_cases():
    """Sequences of 0 and 1 tokens, lengths off the tile sizes and over several tiles, GQA/MQA, causal in
    both alignments (bottom-right with more queries than keys: fully masked rows), windows, softcap,
    ALiBi, masked_rows uniform (a sequence without keys), a tail after the last sequence, and the
    token count as max_seqlen (most tiles empty)."""
    BF, FP = torch.bfloat16, torch.float16
    mixed_q, mixed_k = (37, 0, 300, 129, 5, 1), (50, 10, 200, 400, 0, 200)
    same = (0, 1, 130, 257, 64, 700, 3)
    c = []
    for D in (64, 128, 256):
        c += [
            dict(dtype=BF, D=D, Hq=6, Hk=2, lens_q=same, lens_k=same),
            dict(dtype=FP, D=D, Hq=4, Hk=4, lens_q=same, lens_k=same, causal=True),
            dict(dtype=BF, D=D, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, causal=True, bottom_right=True),
            dict(dtype=FP, D=D, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, causal=True),
            dict(dtype=BF, D=D, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, causal=True, bottom_right=True,
                 masked="uniform"),
            dict(dtype=FP, D=D, Hq=4, Hk=4, lens_q=(1000, 3, 255), lens_k=(1000, 500, 255), window=(100, 20),
                 bottom_right=True),
            dict(dtype=BF, D=D, Hq=4, Hk=1, lens_q=(513, 70, 1), lens_k=(513, 70, 1), softcap=30.0, causal=True),
            dict(dtype=FP, D=D, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, causal=True, bottom_right=True, alibi="h"),
            dict(dtype=BF, D=D, Hq=4, Hk=4, lens_q=(129, 64, 333), lens_k=(129, 300, 70), window=(40, 40), alibi="bh"),
            dict(dtype=BF, D=D, Hq=2, Hk=2, lens_q=(5, 300, 0, 129), lens_k=(77, 300, 9, 129), tail=77, causal=True),
            dict(dtype=FP, D=D, Hq=2, Hk=1, lens_q=(5, 300, 0, 129), lens_k=(5, 300, 0, 129), max_q=434, max_k=434),
        ]
    c += [
        dict(dtype=BF, D=128, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, causal=True, masked="uniform", lse=False),
        dict(dtype=BF, D=128, Hq=4, Hk=2, lens_q=mixed_q, lens_k=mixed_k, window=(30, 0), bottom_right=True,
             masked="uniform", lse=False),
        # 8 sequences over several tiles each (the dynamic scheduler interleaves them)
        dict(dtype=BF, D=128, Hq=8, Hk=2, lens_q=(2048, 512, 1536, 1000, 24, 2000, 1, 1071),
             lens_k=(2048, 512, 1536, 1000, 24, 2000, 1, 1071), causal=True),
        dict(dtype=FP, D=64, Hq=8, Hk=8, lens_q=(2048, 512, 1536, 1000, 24, 2000, 1, 1071),
             lens_k=(2048, 512, 1536, 1000, 24, 2000, 1, 1071)),
        dict(dtype=BF, D=256, Hq=4, Hk=2, lens_q=(1500, 3, 700), lens_k=(1500, 900, 700), causal=True,
             bottom_right=True),
    ]
    return c


def numerics(kern, varlen_only=False):
    torch.manual_seed(1234)
    fails = 0
    checks = [] if varlen_only else [(run_case, case) for case in numerics_cases()]
    for runner, case in checks + [(run_varlen, case) for case in varlen_cases()]:
        try:
            ok, line = runner(kern, case)
        except RuntimeError as e:
            ok, line = False, f"FAIL {case}: {e}"
        fails += not ok
        print(line, flush=True)
    if varlen_only:
        print(f"gate now reported by Unsupported(): {kern.gate()!r}")
        print(f"numerics (varlen only): {fails} failure(s)")
        return fails
    # The same inputs twice must give the same bits (a moving result means a race).
    torch.manual_seed(7)
    (q, k, v), = make_qkv(2, 2048, 2048, 8, 8, 128, torch.bfloat16, "BSHD")
    outs = []
    for _ in range(3):
        o = torch.full_like(q, float("nan"))
        kern.prepare(q, k, v, o, window=(-1, 0))()
        outs.append(o)
    torch.cuda.synchronize()
    same = all(torch.equal(outs[0], x) for x in outs[1:])
    print(f"{'PASS' if same else 'FAIL'} repeatability (3 runs, bitwise)")
    fails += not same
    print(f"gate now reported by Unsupported(): {kern.gate()!r}")
    print(f"numerics: {fails} failure(s)")
    return fails


def sanitize(kern, varlen_only=False):
    torch.manual_seed(3)
    for case in [] if varlen_only else [dict(dtype=torch.bfloat16, D=D, B=1, Hq=2, Hk=1, Sq=200, Sk=333, causal=True, bottom_right=True)
                 for D in (64, 128, 256)] + [dict(dtype=torch.float16, D=128, B=2, Hq=2, Hk=2, Sq=130, Sk=260,
                                                  key_lengths=[5, 260], window=(50, 7)),
                 dict(dtype=torch.bfloat16, D=128, B=1, Hq=2, Hk=1, Sq=70, Sk=1500, key_lengths=[900]),
                 # D 128 176-key blocks: long keys, a tile per SM or more, odd lengths
                 dict(dtype=torch.bfloat16, D=128, B=1, Hq=132, Hk=4, Sq=130, Sk=4100),
                 # (that one now runs the three-warpgroup D 128 kernel); D 64 two Q buffers on 1025-2048 keys
                 dict(dtype=torch.bfloat16, D=64, B=1, Hq=132, Hk=4, Sq=150, Sk=1500),
                 dict(dtype=torch.float16, D=64, B=1, Hq=66, Hk=6, Sq=1100, Sk=1100, causal=True)] + [
                 # bias/mask: rows past Sq and keys past Sk (odd sizes), per key, per element, split
                 dict(dtype=torch.float16, D=D, B=2, Hq=2, Hk=1, Sq=131, Sk=211, mask=(2, 1, 1, 211), mask_lens=[211, 7],
                      bias=(1, 2, 1, 211), causal=True) for D in (64, 128, 256)] + [
                 dict(dtype=torch.bfloat16, D=D, B=1, Hq=2, Hk=2, Sq=77, Sk=333, mask=(1, 2, 77, 333), bias=(77, 333))
                 for D in (64, 128, 256)] + [
                 dict(dtype=torch.bfloat16, D=64, B=1, Hq=2, Hk=1, Sq=33, Sk=1999, mask=(1, 1, 33, 1999), bias=(1, 1, 1, 1999)),
                 dict(dtype=torch.float16, D=256, B=2, Hq=2, Hk=2, Sq=99, Sk=301, alibi="bh", mask=(2, 1, 1, 301),
                      mask_lens=[301, 40])]:
        run_case(kern, case, check=False)
    BF = torch.bfloat16
    for D in (64, 128, 256):  # varlen: rows and keys past each sequence, a tail, masked_rows uniform
        run_varlen(kern, dict(dtype=BF, D=D, Hq=2, Hk=1, lens_q=(0, 1, 70, 129), lens_k=(3, 0, 70, 200), tail=9,
                              causal=True, bottom_right=True, masked="uniform"), check=False)
    # Offsets the host never checked (device memory): decreasing, negative, past the tokens; the kernels
    # clamp them to the tensors (nothing is compared, memcheck must stay clean).
    run_varlen(kern, dict(dtype=BF, D=128, Hq=2, Hk=2, lens_q=(50, 50, 50), lens_k=(60, 60, 60), max_q=100, max_k=100,
                          cu_q=[0, 90, 10, 9999], cu_k=[-5, 60, 2**31 - 1, 180], masked="uniform"), check=False)
    print("sanitize cases ran")
    return 0


def time_ms(fn, inputs, reps=10, inner=10, sustain_ms=0.0):
    """Median over `reps` of the mean time of `inner` back-to-back launches, rotating input sets; when
    `sustain_ms` is given, after that long of launches (a sync every ten): the power-limited clock, as with
    bench.py's BENCH_SUSTAIN_MS."""
    for i in range(3):
        fn(*inputs[i % len(inputs)])
    torch.cuda.synchronize()
    start = time.perf_counter()
    while (time.perf_counter() - start) * 1e3 < sustain_ms:
        for i in range(10):
            fn(*inputs[i % len(inputs)])
        torch.cuda.synchronize()
    samples = []
    for r in range(reps):
        st, en = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        st.record()
        for i in range(inner):
            fn(*inputs[(r * inner + i) % len(inputs)])
        en.record()
        en.synchronize()
        samples.append(st.elapsed_time(en) / inner)
    return statistics.median(samples)


def bench(kern, dtypes):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    rows = []
    print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}  cudnn {torch.backends.cudnn.version()}")
    for dtype in dtypes:
        for D in (64, 128, 256):
            for causal in (False, True):
                for S in (512, 1024, 2048, 4096, 8192, 16384):
                    B, H = 16384 // S, 2048 // D
                    flops = 4 * B * H * S * S * D / (2 if causal else 1)
                    sets = make_qkv(B, S, S, H, H, D, dtype, "BSHD", sets=3)  # 3 × 192 MB: beyond the 50 MB L2
                    outs = [torch.empty_like(q) for q, _, _ in sets]
                    launches = [kern.prepare(q, k, v, o, window=(-1, 0) if causal else (-1, -1))
                                for (q, k, v), o in zip(sets, outs)]
                    ours = time_ms(lambda i: launches[i](), [(i,) for i in range(3)])
                    tsets = [(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)) for q, k, v in sets]
                    res = {}
                    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
                        try:
                            with sdpa_kernel(backend):
                                res[name] = time_ms(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), tsets)
                        except RuntimeError as e:
                            res[name] = float("nan")
                            print(f"  {name} failed: {str(e)[:80]}")
                    t = lambda ms: flops / (ms * 1e-3) / 1e12
                    row = (str(dtype)[6:], D, int(causal), S, B, H, t(ours), t(res["flash"]), t(res["cudnn"]))
                    rows.append(row)
                    print("{} D{} causal{} S{} B{} H{}: ours {:.0f}  flash {:.0f}  cudnn {:.0f} TFLOP/s".format(*row), flush=True)
                    del sets, outs, launches, tsets
    # Few (batch, head, query block) tiles and long keys: the split over the keys, on and off.
    import os
    print("\n| B | H | Sq | Sk | D | ours (split) | ours (no split) | torch flash | cuDNN |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for B, H, Sq, Sk, D in ((1, 16, 256, 32768, 128), (1, 8, 128, 65536, 128), (2, 8, 64, 16384, 64), (1, 8, 128, 32768, 256)):
        flops = 4 * B * H * Sq * Sk * D
        sets = [make_qkv(B, Sq, Sk, H, H, D, torch.bfloat16, "BSHD")[0] for _ in range(3)]
        outs = [torch.empty_like(q) for q, _, _ in sets]
        res = []
        for env in (None, "0"):
            if env is None:
                os.environ.pop("FA_ONNX_HOPPER_SPLIT", None)
            else:
                os.environ["FA_ONNX_HOPPER_SPLIT"] = env
            launches = [kern.prepare(q, k, v, o) for (q, k, v), o in zip(sets, outs)]
            res.append(time_ms(lambda i: launches[i](), [(i,) for i in range(3)]))
        os.environ.pop("FA_ONNX_HOPPER_SPLIT", None)
        tsets = [(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)) for q, k, v in sets]
        for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION):
            try:
                with sdpa_kernel(backend):
                    res.append(time_ms(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), tsets))
            except RuntimeError:
                res.append(float("nan"))
        t = [flops / (ms * 1e-3) / 1e12 for ms in res]
        print(f"| {B} | {H} | {Sq} | {Sk} | {D} | {t[0]:.0f} | {t[1]:.0f} | {t[2]:.0f} | {t[3]:.0f} |", flush=True)
        del sets, outs, tsets

    print("\n| dtype | D | causal | S | ours | torch flash | cuDNN | ours/cuDNN |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {'yes' if r[2] else 'no'} | {r[3]} | {r[6]:.0f} | {r[7]:.0f} | {r[8]:.0f} | {r[6] / r[8]:.2f} |")
    return 0


def subset(kern, label):
    """Ours only, on a few grid points: compares build variants (run.sh builds them). SUBSET_D,
    SUBSET_S, SUBSET_CAUSAL (space-separated) narrow the points; SUBSET_DTYPE=fp16 (default bf16)."""
    import os
    dims = [int(x) for x in os.environ.get("SUBSET_D", "64 128 256").split()]
    seqs = [int(x) for x in os.environ.get("SUBSET_S", "512 2048 8192 16384").split()]
    causals = [bool(int(x)) for x in os.environ.get("SUBSET_CAUSAL", "0 1").split()]
    dtype = torch.float16 if os.environ.get("SUBSET_DTYPE") == "fp16" else torch.bfloat16
    for D in dims:
        for causal in causals:
            for S in seqs:
                B, H = 16384 // S, 2048 // D
                flops = 4 * B * H * S * S * D / (2 if causal else 1)
                sets = make_qkv(B, S, S, H, H, D, dtype, "BSHD", sets=3)
                outs = [torch.empty_like(q) for q, _, _ in sets]
                launches = [kern.prepare(q, k, v, o, window=(-1, 0) if causal else (-1, -1))
                            for (q, k, v), o in zip(sets, outs)]
                ms = time_ms(lambda i: launches[i](), [(i,) for i in range(3)])
                print(f"variant {label}: {str(dtype)[6:]} D{D} causal{int(causal)} S{S}: {flops / (ms * 1e-3) / 1e12:.0f} TFLOP/s", flush=True)
                del sets, outs, launches
    return 0


def bench_mask(kern, label):
    """Plain vs bias/mask at bench_features.py's point (fp16, S 2048, 8k tokens, H·D 2048), straight
    through the Hopper kernel: what a key-padding mask costs."""
    S, TOKENS, HD = 2048, 8192, 2048
    for D in (64, 128):
        B, H = TOKENS // S, HD // D
        flops = 4 * B * H * S * S * D
        alibi = torch.rand(H, device="cuda")
        g = torch.Generator(device="cuda").manual_seed(0)
        lens = torch.randint(S // 2, S + 1, (B,), device="cuda", generator=g, dtype=torch.int32)
        pad = torch.arange(S, device="cuda")[None, :] < lens[:, None]
        feats = {
            "plain": {},
            "key_lengths": dict(key_lengths=lens),
            "key-padding mask [B,1,1,S]": dict(mask=pad[:, None, None, :]),
            "key-padding bias [B,1,1,S]": dict(bias=torch.where(pad, 0.0, -65504.0).half()[:, None, None, :]),
            "bias [1,H,1,S] random": dict(bias=torch.randn(1, H, 1, S, device="cuda").half()),
            "bool mask [1,1,S,S]": dict(mask=torch.rand(1, 1, S, S, device="cuda", generator=g) < 0.9),
            "bias fp16 [1,1,S,S]": dict(bias=torch.randn(1, 1, S, S, device="cuda").half()),
            "alibi": dict(alibi=alibi),
        }
        sets = make_qkv(B, S, S, H, H, D, torch.float16, "BSHD", sets=3)
        outs = [torch.empty_like(q) for q, _, _ in sets]
        for name, kw in feats.items():
            launches = [kern.prepare(q, k, v, o, **kw) for (q, k, v), o in zip(sets, outs)]
            ms = time_ms(lambda i: launches[i](), [(i,) for i in range(3)])
            print(f"bench-mask {label} fp16 D{D} {name:28s} {flops / (ms * 1e-3) / 1e12:.0f} TFLOP/s", flush=True)
    return 0


def profile(kern, D, S, causal):
    """A few launches of one grid point, for ncu."""
    B, H = 16384 // S, 2048 // D
    (q, k, v), = make_qkv(B, S, S, H, H, D, torch.bfloat16, "BSHD")
    o = torch.empty_like(q)
    launch = kern.prepare(q, k, v, o, window=(-1, 0) if causal else (-1, -1))
    for _ in range(3):
        launch()
    torch.cuda.synchronize()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("mode", choices=["numerics", "sanitize", "bench", "bench-bf16", "subset", "profile", "bench-mask"])
    ap.add_argument("--point", default="128,8192,0", help="profile: D,S,causal")
    ap.add_argument("--label", default="")
    ap.add_argument("--varlen-only", action="store_true", help="numerics/sanitize: only the varlen cases")
    a = ap.parse_args()
    kern = Kernel(a.lib)
    if a.mode == "numerics":
        return 1 if numerics(kern, a.varlen_only) else 0
    if a.mode == "sanitize":
        return sanitize(kern, a.varlen_only)
    if a.mode == "profile":
        D, S, c = (int(x) for x in a.point.split(","))
        return profile(kern, D, S, bool(c))
    if a.mode == "bench-mask":
        return bench_mask(kern, a.label)
    if a.mode == "subset":
        return subset(kern, a.label)
    if a.mode == "bench-bf16":
        return bench(kern, [torch.bfloat16])
    return bench(kern, [torch.bfloat16, torch.float16])


if __name__ == "__main__":
    sys.exit(main())
