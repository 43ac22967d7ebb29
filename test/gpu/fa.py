"""ctypes binding of the test shim (libfa_gpu_shim.so) and a float64 reference of the op contract.

Used by check.py (numerics) and bench.py (timing) on the GPU machine; see run.sh.
"""
import ctypes as C
import math
import os

import torch

DT = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2, torch.float8_e4m3fn: 3}
MASKED = {"zero": 0, "uniform": 1, "nan": 2}


class TensorView(C.Structure):
    _fields_ = [("data", C.c_void_p), ("batch_stride", C.c_int64), ("seq_stride", C.c_int64), ("head_stride", C.c_int64)]


class BroadcastView(C.Structure):
    _fields_ = [("data", C.c_void_p), ("stride", C.c_int64 * 4)]


class AttentionParams(C.Structure):
    _fields_ = [
        ("dtype", C.c_int), ("batch", C.c_int), ("heads_q", C.c_int), ("heads_kv", C.c_int),
        ("seqlen_q", C.c_int), ("seqlen_k", C.c_int), ("head_dim", C.c_int), ("head_dim_v", C.c_int),
        ("q", TensorView), ("k", TensorView), ("v", TensorView), ("o", TensorView),
        ("lse", C.c_void_p), ("lse_batch_stride", C.c_int64), ("lse_head_stride", C.c_int64), ("lse_seq_stride", C.c_int64),
        ("cu_seqlens_q", C.c_void_p), ("cu_seqlens_k", C.c_void_p), ("total_q", C.c_int), ("total_k", C.c_int),
        ("key_lengths", C.c_void_p),
        ("cache_lengths", C.c_void_p), ("cache_new_tokens", C.c_int), ("block_table", C.c_void_p), ("block_table_batch_stride", C.c_int64), ("block_size", C.c_int),
        ("bias", BroadcastView), ("mask", BroadcastView), ("alibi_slopes", C.c_void_p), ("alibi_batch_stride", C.c_int64),
        ("q_descale", C.c_void_p), ("k_descale", C.c_void_p), ("v_descale", C.c_void_p),
        ("descale_batch_stride", C.c_int64), ("descale_head_stride", C.c_int64),
        ("scale", C.c_float), ("softcap", C.c_float), ("window_left", C.c_int), ("window_right", C.c_int),
        ("bottom_right", C.c_bool), ("masked_rows", C.c_int),
    ]

    def __init__(self):
        super().__init__()
        self.window_left = self.window_right = -1  # the C++ defaults (ctypes zero-fills)


class KVAppendParams(C.Structure):
    _fields_ = [
        ("dtype", C.c_int), ("batch", C.c_int), ("heads_kv", C.c_int), ("new_tokens", C.c_int),
        ("head_dim", C.c_int), ("head_dim_v", C.c_int),
        ("k_new", TensorView), ("v_new", TensorView), ("k_cache", TensorView), ("v_cache", TensorView),
        ("cache_seqlens", C.c_void_p), ("block_table", C.c_void_p), ("block_table_batch_stride", C.c_int64), ("block_size", C.c_int),
    ]


def load(path):
    lib = C.CDLL(path)
    got = (C.c_int64 * 32)()
    n = lib.fa_params_layout(got, 32)
    P, K = AttentionParams, KVAppendParams
    want = [C.sizeof(P), P.q.offset, P.o.offset, P.lse.offset, P.cu_seqlens_q.offset, P.total_q.offset, P.total_k.offset,
            P.key_lengths.offset, P.block_size.offset, P.bias.offset,
            P.mask.offset, P.alibi_slopes.offset, P.q_descale.offset, P.scale.offset, P.bottom_right.offset,
            P.masked_rows.offset, C.sizeof(K), K.cache_seqlens.offset, K.block_size.offset]
    assert list(got[:n]) == want, f"ctypes layout mismatch: C++ {list(got[:n])} vs ctypes {want}"
    return lib


def grid_params(dtype, B, S, H, D, causal):
    """AttentionParams of one anchors-grid call: B × S tokens, H heads of D on [B, S, H, D] tensors, scale
    1/sqrt(D), causal (top-left) or not. The tensors are the caller's (p.q, p.k, p.v, p.o = view(...))."""
    p = AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = DT[dtype], B, H, H
    p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = S, S, D, D
    p.scale, p.window_right, p.bottom_right = 1 / math.sqrt(D), (0 if causal else -1), False
    return p


def view(t, kind):
    """TensorView of a tensor stored as [B,S,H,D] ('bshd'), [B,H,S,D] ('bhsd') or [T,H,D] ('thd')."""
    s = t.stride()
    if kind == "bshd":
        return (t.data_ptr(), s[0], s[1], s[2])
    if kind == "bhsd":
        return (t.data_ptr(), s[0], s[2], s[1])
    if kind == "thd":
        return (t.data_ptr(), 0, s[0], s[1])
    raise ValueError(kind)


def bview(t, shape4):
    """BroadcastView of t (numpy-broadcast to shape4)."""
    if t is None:
        return BroadcastView()
    e = t.expand(shape4) if t.dim() == 4 else t.reshape((1,) * (4 - t.dim()) + tuple(t.shape)).expand(shape4)
    bv = BroadcastView()
    bv.data = t.data_ptr()
    for i in range(4):
        bv.stride[i] = e.stride(i)
    return bv


def ptr(t):
    return None if t is None else t.data_ptr()


def run(lib, p, stream=None):
    err = C.create_string_buffer(512)
    s = stream if stream is not None else torch.cuda.current_stream().cuda_stream
    rc = lib.fa_run(C.byref(p), C.c_void_p(s), err, 512)
    return err.value.decode() if rc else ""


def append_kv(lib, a):
    err = C.create_string_buffer(512)
    rc = lib.fa_append_kv(C.byref(a), C.c_void_p(torch.cuda.current_stream().cuda_stream), err, 512)
    return err.value.decode() if rc else ""


def reference(q, k, v, scale, softcap=0.0, bias=None, mask=None, key_len=None, alibi=None, wl=-1, wr=-1,
              offset=0, masked_rows="zero", n_uniform=None):
    """Float64 attention per ops/README.md. q [B,Sq,Hq,D], k/v [B,Sk,Hk,D]; bias/mask broadcast to
    [B,Hq,Sq,Sk]; key_len [B]; alibi [B,Hq]. Returns out [B,Sq,Hq,Dv], lse [B,Hq,Sq]."""
    q, k, v = q.double(), k.double(), v.double()
    B, Sq, Hq, D = q.shape
    Sk, Hk = k.shape[1], k.shape[2]
    if Sk == 0:  # no keys: every row is fully masked
        out = torch.full((B, Sq, Hq, v.shape[3]), math.nan if masked_rows == "nan" else 0.0, dtype=torch.float64, device=q.device)
        return out, torch.full((B, Hq, Sq), -math.inf, dtype=torch.float64, device=q.device)
    kr, vr = k.repeat_interleave(Hq // Hk, 2), v.repeat_interleave(Hq // Hk, 2)
    s = torch.einsum("bqhd,bkhd->bhqk", q, kr) * scale
    if softcap > 0:
        s = softcap * torch.tanh(s / softcap)
    if bias is not None:
        s = s + bias.double()
    dev = q.device
    i = torch.arange(Sq, device=dev)[:, None]
    j = torch.arange(Sk, device=dev)[None, :]
    pos = i + offset
    if alibi is not None:
        s = s - alibi.double()[:, :, None, None] * (pos - j).abs().double()
    allowed = torch.ones(B, Hq, Sq, Sk, dtype=torch.bool, device=dev)
    if key_len is not None:
        allowed &= j[None, None] < key_len.to(dev).long()[:, None, None, None]
    if wl >= 0:
        allowed &= (j >= pos - wl)[None, None]
    if wr >= 0:
        allowed &= (j <= pos + wr)[None, None]
    if mask is not None:
        allowed &= mask
    s = s.masked_fill(~allowed, -math.inf)
    mx = s.amax(-1, keepdim=True)
    empty = mx == -math.inf
    mx0 = torch.where(empty, torch.zeros_like(mx), mx)
    p = torch.exp(s - mx0)
    l = p.sum(-1, keepdim=True)
    pn = torch.where(empty, torch.zeros_like(p), p / torch.where(empty, torch.ones_like(l), l))
    out = torch.einsum("bhqk,bkhd->bqhd", pn, vr)
    lse = torch.where(empty, torch.full_like(l, -math.inf), torch.log(l) + mx0).squeeze(-1)
    e = empty.squeeze(-1).permute(0, 2, 1)  # [B,Sq,Hq]
    if masked_rows == "nan":
        out[e] = math.nan
    elif masked_rows == "uniform":
        n = Sk if n_uniform is None else n_uniform
        mean = vr[:, :n].mean(1) if n > 0 else torch.zeros_like(vr[:, 0])  # [B,Hq,Dv]
        out = torch.where(e[..., None], mean[:, None].expand_as(out), out)
    return out, lse


def rel_l2(out, ref):
    """Relative L2 error; NaN positions must agree exactly (NaN never passes otherwise)."""
    out, ref = out.double(), ref.double()
    if not torch.equal(torch.isnan(out), torch.isnan(ref)):
        return math.inf
    ok = torch.isfinite(ref)
    if not torch.equal(torch.isinf(out) & (out < 0), torch.isinf(ref) & (ref < 0)):
        return math.inf
    a, b = out[ok], ref[ok]
    if not torch.isfinite(a).all():
        return math.inf
    den = b.norm().item()
    return (a - b).norm().item() / (den if den > 0 else 1.0)
