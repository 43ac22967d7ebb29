"""Numerics of the CUDA provider against a float64 reference of ops/README.md, on fresh random
inputs with the outputs poisoned (NaN) first. Every case must reach rel L2 <= 1e-2; NaN only where
the reference has NaN. Usage: python3 check.py LIB.so [--quick] (quick: the small sanitizer grid)."""
import math
import sys

import torch

import fa

TOL = 1e-2
dev = "cuda"
BF, FP, F32, F8 = torch.bfloat16, torch.float16, torch.float32, torch.float8_e4m3fn
results = []


def rnd(shape, dtype):
    x = torch.randn(shape, device=dev)
    return (x * 2).to(dtype) if dtype == F8 else x.to(dtype)


def store(logical_shape, dtype, layout):
    """Random tensor for logical [B,S,H,D] stored in layout; returns (storage, logical view, kind)."""
    B, S, H, D = logical_shape
    if layout == "bhsd":
        t = rnd((B, H, S, D), dtype)
        return t, t.permute(0, 2, 1, 3), "bhsd"
    t = rnd((B, S, H, D), dtype)
    return t, t, "bshd"


def record(name, err_o, err_lse=0.0, note=""):
    ok = err_o <= TOL and err_lse <= TOL
    results.append((name, ok, err_o, err_lse, note))
    print(f"{'PASS' if ok else 'FAIL'} {name:60s} out {err_o:.2e} lse {err_lse:.2e} {note}", flush=True)


def dense(lib, name, dtype=BF, D=64, B=2, Hq=4, Hk=None, Sq=130, Sk=130, layout="bshd", causal=False,
          bottom_right=False, wl=-1, wr=-1, softcap=0.0, bias=None, mask=None, key_len=None, alibi=None,
          masked="zero", scale=None, sdpa=False, Dv=None, bias_cols_strided=False):
    Hk = Hk or Hq
    Dv = Dv or D
    q, ql, qk = store((B, Sq, Hq, D), dtype, layout)
    k, kl, kk = store((B, Sk, Hk, D), dtype, layout)
    v, vl, vk = store((B, Sk, Hk, Dv), dtype, layout)
    out_dtype = BF if dtype == F8 else dtype
    o = torch.full(q.shape[:-1] + (Dv,), math.nan, dtype=out_dtype, device=dev)
    ol = o.permute(0, 2, 1, 3) if layout == "bhsd" else o
    lse = torch.full((B, Hq, Sq), math.nan, dtype=F32, device=dev)
    sc = scale if scale is not None else 1 / math.sqrt(D)
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[dtype], B, Hq, Hk
    p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = Sq, Sk, D, Dv
    p.q, p.k, p.v, p.o = fa.view(q, qk), fa.view(k, kk), fa.view(v, vk), fa.view(o, qk)
    p.lse, p.lse_batch_stride, p.lse_head_stride, p.lse_seq_stride = lse.data_ptr(), Hq * Sq, Sq, 1
    p.scale, p.softcap, p.window_left, p.window_right = sc, softcap, wl, (0 if causal else wr)
    p.bottom_right, p.masked_rows = bottom_right, fa.MASKED[masked]
    keep = []
    bias_t = mask_t = kl_t = al_t = None
    if bias is not None:
        bt = F32 if dtype in (F32, F8) else dtype
        if bias_cols_strided:  # keys not contiguous (a transposed view): the element-load path
            bias_t = torch.randn(bias[:-2] + (bias[-1], bias[-2]), device=dev).to(bt).transpose(-1, -2)
        else:
            bias_t = torch.randn(bias, device=dev).to(bt)
        if isinstance(bias, tuple) and len(bias) == 4 and bias[2] > 3:
            bias_t[:, :, 3] = -math.inf  # a row masked through the additive term
        p.bias = fa.bview(bias_t, (B, Hq, Sq, Sk))
    if mask is not None:
        mask_t = torch.rand(mask, device=dev) > 0.3
        if len(mask) == 4 and mask[2] > 5:
            mask_t[:, :, ::5] = False  # fully masked rows
        p.mask = fa.bview(mask_t, (B, Hq, Sq, Sk))
    if key_len is not None:
        kl_t = torch.tensor(key_len, dtype=torch.int32, device=dev)
        p.key_lengths = kl_t.data_ptr()
    if alibi is not None:
        al_t = torch.rand((B, Hq) if alibi == "bh" else (Hq,), device=dev)
        p.alibi_slopes, p.alibi_batch_stride = al_t.data_ptr(), (Hq if alibi == "bh" else 0)
    qd = kd = vd = None
    if dtype == F8:
        qd, kd, vd = (torch.rand(B, Hk, device=dev) + 0.5 for _ in range(3))
        p.q_descale, p.k_descale, p.v_descale = qd.data_ptr(), kd.data_ptr(), vd.data_ptr()
        p.descale_batch_stride, p.descale_head_stride = Hk, 1
    err = fa.run(lib, p)
    torch.cuda.synchronize()
    if err:
        record(name, math.inf, math.inf, "error: " + err)
        return
    qr, kr, vr = ql.double(), kl.double(), vl.double()
    if dtype == F8:
        g = Hq // Hk
        qr = qr * qd.double().repeat_interleave(g, 1)[:, None, :, None]
        kr, vr = kr * kd.double()[:, None, :, None], vr * vd.double()[:, None, :, None]
    ref_o, ref_l = fa.reference(qr, kr, vr, sc, softcap, None if bias_t is None else bias_t.double(), mask_t, kl_t,
                                None if al_t is None else al_t.expand(B, Hq), wl, (0 if causal else wr),
                                (Sk - Sq) if bottom_right else 0, masked)
    note = ""
    if sdpa:
        tq, tk, tv = (x.transpose(1, 2) for x in (ql, kl, vl))
        so = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal, scale=sc).transpose(1, 2)
        note = f"(torch SDPA {fa.rel_l2(so, ref_o):.2e})"
    record(name, fa.rel_l2(ol, ref_o), fa.rel_l2(lse, ref_l), note)


def varlen(lib, name, dtype=BF, D=64, Hq=4, Hk=2, lens_q=(37, 0, 130, 64, 5), lens_k=(50, 10, 130, 200, 0),
           causal=False, bottom_right=True, wl=-1, alibi=False, masked="zero"):
    Tq, Tk = sum(lens_q), sum(lens_k)
    q, k, v = rnd((Tq, Hq, D), dtype), rnd((Tk, Hk, D), dtype), rnd((Tk, Hk, D), dtype)
    o = torch.full(q.shape, math.nan, dtype=dtype, device=dev)
    lse = torch.full((Hq, Tq), math.nan, dtype=F32, device=dev)
    cq = torch.tensor([0] + list(torch.tensor(lens_q).cumsum(0)), dtype=torch.int32, device=dev)
    ck = torch.tensor([0] + list(torch.tensor(lens_k).cumsum(0)), dtype=torch.int32, device=dev)
    B = len(lens_q)
    al = torch.rand(Hq, device=dev) if alibi else None
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[dtype], B, Hq, Hk
    p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = max(lens_q), max(lens_k), D, D
    p.q, p.k, p.v, p.o = fa.view(q, "thd"), fa.view(k, "thd"), fa.view(v, "thd"), fa.view(o, "thd")
    p.lse, p.lse_batch_stride, p.lse_head_stride, p.lse_seq_stride = lse.data_ptr(), 0, Tq, 1
    p.cu_seqlens_q, p.cu_seqlens_k = cq.data_ptr(), ck.data_ptr()
    p.total_q, p.total_k = Tq, Tk
    p.scale, p.window_left, p.window_right, p.bottom_right = 1 / math.sqrt(D), wl, (0 if causal else -1), bottom_right
    p.masked_rows = fa.MASKED[masked]
    if al is not None:
        p.alibi_slopes = al.data_ptr()
    err = fa.run(lib, p)
    torch.cuda.synchronize()
    if err:
        record(name, math.inf, math.inf, "error: " + err)
        return
    ro, rl = torch.zeros(Tq, Hq, D, dtype=torch.float64, device=dev), torch.zeros(Hq, Tq, dtype=torch.float64, device=dev)
    for b in range(B):
        q0, q1, k0, k1 = int(cq[b]), int(cq[b + 1]), int(ck[b]), int(ck[b + 1])
        if q1 == q0:
            continue
        out, l = fa.reference(q[None, q0:q1], k[None, k0:k1], v[None, k0:k1], 1 / math.sqrt(D), alibi=None if al is None else al[None],
                              wl=wl, wr=(0 if causal else -1), offset=((k1 - k0) - (q1 - q0)) if bottom_right else 0,
                              masked_rows=masked)
        ro[q0:q1], rl[:, q0:q1] = out[0], l[0]
    record(name, fa.rel_l2(o, ro), fa.rel_l2(lse, rl))


def kvcache(lib, name, dtype=BF, D=128, B=3, Hq=8, Hk=2, Sq=1, S_max=300, seqlens=(0, 100, 290), paged=False,
            layout="bshd", causal=True, append=True, bs=16):
    Sq_total = [s + (Sq if append else 0) for s in seqlens]
    if paged:
        mb = (S_max + bs - 1) // bs
        nblk = B * mb + 3
        kc, vc = rnd((nblk, bs, Hk, D), dtype), rnd((nblk, bs, Hk, D), dtype)
        table = torch.randperm(nblk, device=dev)[: B * mb].view(B, mb).to(torch.int32)
        cap = mb * bs
        kview = (kc.data_ptr(), bs * Hk * D, Hk * D, D)
        vview = (vc.data_ptr(), bs * Hk * D, Hk * D, D)
        logical = lambda c: c[table.long()].reshape(B, mb * bs, Hk, D)
    else:
        kc, kcl, kind = store((B, S_max, Hk, D), dtype, layout)
        vc, vcl, _ = store((B, S_max, Hk, D), dtype, layout)
        cap = S_max
        kview, vview = fa.view(kc, kind), fa.view(vc, kind)
        logical = lambda c: c.permute(0, 2, 1, 3) if layout == "bhsd" else c
    q = rnd((B, Sq, Hq, D), dtype)
    before_k, before_v = logical(kc).clone(), logical(vc).clone()
    sl = torch.tensor(seqlens, dtype=torch.int32, device=dev)
    if append:
        kn, vn = rnd((B, Sq, Hk, D), dtype), rnd((B, Sq, Hk, D), dtype)
        a = fa.KVAppendParams()
        a.dtype, a.batch, a.heads_kv, a.new_tokens, a.head_dim, a.head_dim_v = fa.DT[dtype], B, Hk, Sq, D, D
        a.k_new, a.v_new, a.k_cache, a.v_cache = fa.view(kn, "bshd"), fa.view(vn, "bshd"), kview, vview
        a.cache_seqlens = sl.data_ptr()
        if paged:
            a.block_table, a.block_table_batch_stride, a.block_size = table.data_ptr(), table.stride(0), bs
        err = fa.append_kv(lib, a)
        if err:
            record(name, math.inf, math.inf, "append error: " + err)
            return
        for b in range(B):
            before_k[b, seqlens[b]: seqlens[b] + Sq] = kn[b]
            before_v[b, seqlens[b]: seqlens[b] + Sq] = vn[b]
    o = torch.full(q.shape, math.nan, dtype=dtype, device=dev)
    lse = torch.full((B, Hq, Sq), math.nan, dtype=F32, device=dev)
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv = fa.DT[dtype], B, Hq, Hk
    p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = Sq, cap, D, D
    p.q, p.o, p.k, p.v = fa.view(q, "bshd"), fa.view(o, "bshd"), kview, vview
    p.lse, p.lse_batch_stride, p.lse_head_stride, p.lse_seq_stride = lse.data_ptr(), Hq * Sq, Sq, 1
    p.cache_lengths, p.cache_new_tokens = sl.data_ptr(), (Sq if append else 0)
    if paged:
        p.block_table, p.block_table_batch_stride, p.block_size = table.data_ptr(), table.stride(0), bs
    p.scale, p.window_right, p.bottom_right = 1 / math.sqrt(D), (0 if causal else -1), True
    err = fa.run(lib, p)
    torch.cuda.synchronize()
    if err:
        record(name, math.inf, math.inf, "error: " + err)
        return
    cache_ok = torch.equal(logical(kc).view(torch.int16 if dtype != F32 else torch.int32),
                           before_k.view(torch.int16 if dtype != F32 else torch.int32))
    ro = torch.zeros(B, Sq, Hq, D, dtype=torch.float64, device=dev)
    rl = torch.zeros(B, Hq, Sq, dtype=torch.float64, device=dev)
    for b in range(B):
        L = Sq_total[b]
        out, l = fa.reference(q[b:b + 1], before_k[b:b + 1, :L], before_v[b:b + 1, :L], 1 / math.sqrt(D),
                              wr=(0 if causal else -1), offset=L - Sq)
        ro[b], rl[b] = out[0], l[0]
    record(name, fa.rel_l2(o, ro) if cache_ok else math.inf, fa.rel_l2(lse, rl), "" if cache_ok else "cache append wrong")


def refused(lib, name, D, Dv=None):
    p = fa.AttentionParams()
    p.dtype, p.batch, p.heads_q, p.heads_kv, p.seqlen_q, p.seqlen_k, p.head_dim, p.head_dim_v = 2, 1, 1, 1, 1, 1, D, Dv or D
    err = fa.run(lib, p)
    ok = str(D) in err and "head dim" in err
    results.append((name, ok, 0.0, 0.0, err))
    print(f"{'PASS' if ok else 'FAIL'} {name:60s} -> {err}")


def main():
    lib = fa.load(sys.argv[1])
    quick = "--quick" in sys.argv
    torch.manual_seed(0)
    if quick:  # small grid for compute-sanitizer
        dense(lib, "quick bf16 D64", B=1, Hq=2, Sq=70, Sk=90)
        dense(lib, "quick fp16 D128 causal br", FP, D=128, B=1, Hq=2, Sq=70, Sk=150, causal=True, bottom_right=True)
        dense(lib, "quick bias+mask+alibi+softcap", D=64, B=1, Hq=2, Sq=40, Sk=70, bias=(1, 2, 40, 70), mask=(1, 2, 40, 70),
              alibi="h", softcap=20.0, masked="uniform")
        dense(lib, "quick bias+mask odd Sk", D=128, B=1, Hq=2, Sq=40, Sk=71, bias=(1, 2, 40, 71), mask=(1, 2, 40, 71))
        dense(lib, "quick key-padding mask+bias [B,1,1,Sk]", D=32, B=2, Hq=2, Sq=70, Sk=130, bias=(2, 1, 1, 130),
              mask=(2, 1, 1, 130), causal=True)
        dense(lib, "quick fp32 bias strided", F32, D=64, B=1, Hq=2, Sq=30, Sk=70, bias=(1, 2, 30, 70), bias_cols_strided=True)
        dense(lib, "quick D24 padded Dv40", D=24, Dv=40, B=1, Hq=2, Sq=70, Sk=90)
        dense(lib, "quick fp32 D96 keylen", F32, D=96, B=2, Hq=2, Sq=33, Sk=80, key_len=[0, 50])
        dense(lib, "quick fp8 D256", F8, D=256, B=1, Hq=2, Sq=33, Sk=80)
        dense(lib, "quick split decode D64", D=64, B=1, Hq=2, Hk=1, Sq=1, Sk=1000)
        dense(lib, "quick uniform masked rows D128", FP, D=128, B=2, Hq=4, Hk=2, Sq=70, Sk=130, mask=(2, 1, 1, 130),
              causal=True, wl=0, masked="uniform")
        # D 64 / 128 plain calls with few keys per row take the short-sequence shape; these take the default one
        dense(lib, "quick bf16 D64 long keys (default shape)", D=64, B=1, Hq=2, Sq=70, Sk=2300)
        dense(lib, "quick fp16 D128 long keys causal br (default shape)", FP, D=128, B=1, Hq=1, Sq=70, Sk=8300, causal=True,
              bottom_right=True)
        dense(lib, "quick bf16 D128 many keys keylen (long shape)", D=128, B=1, Hq=1, Sq=100, Sk=4200, key_len=[3001])
        dense(lib, "quick fp16 D256 causal", FP, D=256, B=1, Hq=2, Sq=70, Sk=90, causal=True)
        dense(lib, "quick bf16 D256 bias (general)", D=256, B=1, Hq=2, Sq=40, Sk=70, bias=(1, 2, 40, 70))
        varlen(lib, "quick varlen", D=32)
        kvcache(lib, "quick paged kv append", D=64, B=2, Hq=4, Hk=2, Sq=2, S_max=100, seqlens=(0, 90), paged=True)
    else:
        for dt in (BF, FP):
            for D in (32, 64, 80, 96, 128, 160, 192, 256):
                n = str(dt).split(".")[1]
                dense(lib, f"{n} D{D} BSHD", dt, D=D, sdpa=(D == 128))
                dense(lib, f"{n} D{D} causal top_left Sq>Sk", dt, D=D, Sq=300, Sk=200, causal=True)
                dense(lib, f"{n} D{D} causal bottom_right Sq<Sk", dt, D=D, Sq=100, Sk=333, causal=True, bottom_right=True)
        for D in (64, 128, 256):
            dense(lib, f"fp32 D{D} (bf16 tiles)", F32, D=D)
            dense(lib, f"fp8 e4m3 D{D} causal", F8, D=D, causal=True, bottom_right=True, Sq=100, Sk=257)
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            for D in (64, 128):
                dense(lib, f"{n} D{D} window 50/20", dt, D=D, Sq=400, Sk=400, wl=50, wr=20)
                dense(lib, f"{n} D{D} window left 64 causal br", dt, D=D, Sq=200, Sk=500, wl=64, causal=True, bottom_right=True)
                dense(lib, f"{n} D{D} window INT_MAX both sides", dt, D=D, wl=2**31 - 1, wr=2**31 - 1)
                dense(lib, f"{n} D{D} softcap 30", dt, D=D, softcap=30.0, scale=0.5)
                dense(lib, f"{n} D{D} alibi [Hq] causal", dt, D=D, alibi="h", causal=True)
                dense(lib, f"{n} D{D} alibi [B,Hq] window", dt, D=D, alibi="bh", wl=40, wr=40)
                dense(lib, f"{n} D{D} bias [B,Hq,Sq,Sk] + -inf row", dt, D=D, bias=(2, 4, 130, 130))
                dense(lib, f"{n} D{D} bias [1,Hq,1,Sk]", dt, D=D, bias=(1, 4, 1, 130))
                dense(lib, f"{n} D{D} bias [Sq,Sk]", dt, D=D, bias=(130, 130))
                for m in ("zero", "uniform", "nan"):
                    dense(lib, f"{n} D{D} bool mask masked_rows={m}", dt, D=D, mask=(2, 4, 130, 130), masked=m)
                dense(lib, f"{n} D{D} mask [B,1,1,Sk]", dt, D=D, mask=(2, 1, 1, 130))
                # key padding + causal with a one-key window: every row whose own key is padded out has no
                # key left, so "uniform" fills many rows (the Hopper kernel's route at D 64/128/256)
                dense(lib, f"{n} D{D} mask [B,1,1,Sk] causal window 0 GQA uniform", dt, D=D, Hq=4, Hk=2,
                      mask=(2, 1, 1, 130), causal=True, wl=0, masked="uniform")
                for m in ("zero", "uniform", "nan"):
                    dense(lib, f"{n} D{D} key_lengths [0,77] rows={m}", dt, D=D, key_len=[0, 77], masked=m)
                dense(lib, f"{n} D{D} GQA 8/2 BHSD causal", dt, D=D, Hq=8, Hk=2, layout="bhsd", causal=True)
                dense(lib, f"{n} D{D} MQA 8/1", dt, D=D, Hq=8, Hk=1)
                dense(lib, f"{n} D{D} split decode Sq=1 Sk=5000", dt, D=D, B=1, Hq=8, Hk=2, Sq=1, Sk=5000)
                dense(lib, f"{n} D{D} split Sq=3 Sk=3000 causal br+keylen", dt, D=D, B=2, Hq=4, Sq=3, Sk=3000, causal=True,
                      bottom_right=True, key_len=[2500, 3000])
                varlen(lib, f"{n} D{D} varlen", dt, D=D)
                varlen(lib, f"{n} D{D} varlen causal br alibi", dt, D=D, causal=True, alibi=True)
                varlen(lib, f"{n} D{D} varlen causal top_left uniform", dt, D=D, causal=True, bottom_right=False, masked="uniform")
                varlen(lib, f"{n} D{D} varlen window 20", dt, D=D, wl=20, causal=True)
                kvcache(lib, f"{n} D{D} kv contiguous BSHD decode+append", dt, D=D)
                kvcache(lib, f"{n} D{D} kv contiguous BHSD Sq=4 append", dt, D=D, Sq=4, layout="bhsd")
                kvcache(lib, f"{n} D{D} kv paged decode+append", dt, D=D, paged=True)
                kvcache(lib, f"{n} D{D} kv paged Sq=7 no causal", dt, D=D, Sq=7, paged=True, causal=False)
                kvcache(lib, f"{n} D{D} kv long decode (split)", dt, D=D, B=2, seqlens=(3000, 4000), S_max=4100, paged=True)
        dense(lib, "bf16 D128 large B4 H16 S1024 causal", BF, D=128, B=4, Hq=16, Sq=1024, Sk=1024, causal=True, sdpa=True)
        # Plain D 64 / 128 calls pick their tile shape by keys per query row (use_short_shape in
        # ops/cuda/fwd_kernel.cuh): the cases above are short; these cross to the default shapes.
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            for D, Sk in ((64, 2300), (128, 8400)):
                dense(lib, f"{n} D{D} long keys Sk={Sk} (default shape)", dt, D=D, B=1, Hq=2, Sq=130, Sk=Sk)
                dense(lib, f"{n} D{D} long keys Sk={Sk} causal br (default shape)", dt, D=D, B=1, Hq=2, Sq=200, Sk=Sk,
                      causal=True, bottom_right=True)
        # D 256 with 4 warps: the short-sequence shape's K/V copy with alternating row swizzles (plain cases), the
        # general kernel (bias, softcap; the same copy with FA_ONNX_CUDA_FWD_LEAN=2).
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            dense(lib, f"{n} D256 bias [B,Hq,Sq,Sk] (general)", dt, D=256, bias=(2, 4, 130, 130))
            dense(lib, f"{n} D256 window 50/20 softcap (general)", dt, D=256, Sq=400, Sk=400, wl=50, wr=20, softcap=30.0, scale=0.5)
            dense(lib, f"{n} D256 key_len GQA", dt, D=256, Hq=4, Hk=2, key_len=[130, 77])
            dense(lib, f"{n} D256 window 50/20", dt, D=256, Sq=400, Sk=400, wl=50, wr=20)
        # Plain D 128 calls without a window and with >= 512 keys take the long-sequence shape (use_long_shape):
        # every loader path (fast, padded head, converted dtypes, paged cache) and key splitting on it, at its
        # threshold and with partial key tiles.
        dense(lib, "bf16 D128 long shape GQA keylen", BF, D=128, B=2, Hq=4, Hk=2, Sq=200, Sk=4500, key_len=[4500, 3001])
        dense(lib, "fp16 D128 long shape BHSD Sq=1000", FP, D=128, B=1, Hq=2, Sq=1000, Sk=4096, layout="bhsd")
        dense(lib, "fp32 D128 long shape", F32, D=128, B=1, Hq=2, Sq=130, Sk=4200)
        dense(lib, "fp8 D128 long shape", F8, D=128, B=1, Hq=2, Sq=100, Sk=4100)
        dense(lib, "bf16 D128 long shape at 512 keys", BF, D=128, B=2, Hq=2, Sq=512, Sk=512)
        dense(lib, "fp16 D128 long shape Sk=700 GQA keylen", FP, D=128, B=2, Hq=4, Hk=2, Sq=333, Sk=700, key_len=[700, 517])
        dense(lib, "bf16 D112 (padded) long shape", BF, D=112, B=1, Hq=2, Sq=90, Sk=4300)
        kvcache(lib, "bf16 D128 kv paged Sq=80 no causal (long shape)", BF, D=128, B=2, Sq=80, S_max=5100,
                seqlens=(4200, 5000), paged=True, causal=False)
        # Head dims without their own kernel run on the next one with zero-filled columns.
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            for D in (8, 16, 24, 48, 72, 112, 200):
                dense(lib, f"{n} D{D} (padded) BSHD", dt, D=D)
                dense(lib, f"{n} D{D} (padded) causal br GQA BHSD", dt, D=D, Hq=8, Hk=2, Sq=100, Sk=333, causal=True,
                      bottom_right=True, layout="bhsd")
            dense(lib, f"{n} D16 (padded) mask [B,1,1,Sk]", dt, D=16, mask=(2, 1, 1, 130))
            dense(lib, f"{n} D16 (padded) split decode", dt, D=16, B=1, Hq=8, Hk=2, Sq=1, Sk=5000)
            dense(lib, f"{n} D64 Dv32", dt, D=64, Dv=32, causal=True)
            dense(lib, f"{n} D32 Dv128 bias", dt, D=32, Dv=128, bias=(1, 4, 130, 130))
            dense(lib, f"{n} D48 Dv48 split decode", dt, D=48, B=1, Hq=8, Hk=2, Sq=1, Sk=5000)
        dense(lib, "fp32 D16 (padded) keylen", F32, D=16, key_len=[100, 7])
        dense(lib, "fp8 e4m3 D48 (padded) causal", F8, D=48, causal=True, bottom_right=True, Sq=100, Sk=257)
        varlen(lib, "bf16 D24 (padded) varlen causal", BF, D=24, causal=True)
        # D 256 and sequences over several tiles (on an H100/H200 these run on the Hopper kernel)
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            varlen(lib, f"{n} D256 varlen causal br", dt, D=256, causal=True)
            varlen(lib, f"{n} D128 varlen long causal br uniform", dt, D=128, Hq=8, Hk=2, lens_q=(900, 3, 0, 333),
                   lens_k=(700, 3, 40, 333), causal=True, masked="uniform")
        kvcache(lib, "bf16 D112 (padded) kv paged decode", BF, D=112, paged=True)
        # The general path's load forms: pair loads (aligned, full tiles), element loads (odd key
        # counts, strided keys, the tail tile), row-broadcast [.., 1, Sk] terms; fp32 biases.
        for dt in (BF, FP):
            n = str(dt).split(".")[1]
            for D in (32, 64, 128, 256):
                dense(lib, f"{n} D{D} bias+mask 4D Sk=300 (pairs + tail)", dt, D=D, Sq=200, Sk=300, bias=(2, 4, 200, 300),
                      mask=(2, 4, 200, 300))
                dense(lib, f"{n} D{D} bias+mask 4D odd Sk=301 (elements)", dt, D=D, Sq=150, Sk=301, bias=(2, 4, 150, 301),
                      mask=(2, 4, 150, 301))
                dense(lib, f"{n} D{D} key-padding mask [B,1,1,Sk] causal odd Sk", dt, D=D, Sq=257, Sk=257, mask=(2, 1, 1, 257),
                      causal=True)
                dense(lib, f"{n} D{D} key-padding bias [B,1,1,Sk] + keylen", dt, D=D, Sq=64, Sk=300, bias=(2, 1, 1, 300),
                      key_len=[300, 211])
                dense(lib, f"{n} D{D} bias strided keys", dt, D=D, Sq=100, Sk=200, bias=(2, 4, 100, 200), bias_cols_strided=True)
                dense(lib, f"{n} D{D} softcap+mask+alibi+window", dt, D=D, Sq=300, Sk=300, softcap=20.0, mask=(2, 1, 1, 300),
                      alibi="bh", wl=100, wr=30)
                dense(lib, f"{n} D{D} softcap+bias causal br", dt, D=D, Sq=90, Sk=333, softcap=10.0, bias=(1, 4, 90, 333),
                      causal=True, bottom_right=True, masked="uniform")
        for dt in (F32, F8):
            n = "fp32" if dt == F32 else "fp8"
            dense(lib, f"{n} D64 fp32 bias 4D (pairs)", dt, D=64, Sq=100, Sk=300, bias=(2, 4, 100, 300))
            dense(lib, f"{n} D128 fp32 bias [B,1,1,Sk] odd (elements) + mask", dt, D=128, Sq=100, Sk=301, bias=(2, 1, 1, 301),
                  mask=(2, 4, 100, 301))
        dense(lib, "bf16 D64 large mask [B,1,1,S] B4 H8 S1024", BF, D=64, B=4, Hq=8, Sq=1024, Sk=1024, mask=(4, 1, 1, 1024))
        refused(lib, "head dim 36 refused (not a multiple of 8)", 36)
        refused(lib, "head dim 512 refused", 512)
        refused(lib, "value head dim 264 refused", 64, 264)
    fails = [r for r in results if not r[1]]
    print(f"\n{len(results) - len(fails)}/{len(results)} passed")
    for r in fails:
        print("FAILED:", r[0], r[2], r[3], r[4])
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
