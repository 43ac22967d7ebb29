"""Forward attention benchmark over the anchors grid (../shared/docs/anchors.md): D 64/128/256,
S 512..16384 with batch·S = 16k tokens and heads·D = 2048, causal or not, bf16 and fp16. Times
fa-onnx's CUDA kernel and torch SDPA's flash and cuDNN backends in the same run, on the same BSHD
inputs, with CUDA events (warm-up, median of many runs, input sets rotated beyond the L2).
TFLOP/s = 4·B·H·Sq·Sk·D (half when causal) / time. Usage: python3 bench.py LIB.so OUT.json [LIB2.so ...]
(LIB2, LIB3, ...: other builds of the portable kernel, timed as "ours2", "ours3", ...). Environment:
BENCH_DTYPES (default "bf16 fp16"), BENCH_D (default "64 128 256") and BENCH_S (default "512 ... 16384")
narrow the grid; BENCH_DISPATCH=0 skips the dispatch column; BENCH_TIMING and BENCH_INNER choose how a
sample is timed (below); BENCH_ROUNDS (default: one per implementation) times every implementation of a point
that many times, taking turns in the orders of rounds.py (every position, and every neighbour, once), and reports
the median over the rounds (one run's ratios moved by ±5% between grids); BENCH_SUSTAIN_MS (default 0) runs each
implementation that long without a break before its timed samples, so that they are taken at the clock the GPU
holds under sustained load (below)."""
import json
import math
import os
import statistics
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import fa
from rounds import round_order

REPS, WARM, SETS = 25, 5, 3
# How a sample is timed (BENCH_TIMING). torch's SDPA takes 100-125 us of host time per call on the GPU
# machine, as long as a whole S 512 kernel, so timing single launches let host stalls into the samples
# (cuDNN D 128 causal S 512 read 102-339 TFLOP/s that way in four runs, 343 in graphs; RESULTS.md, 20:12 entry):
#   graph   a few launches (rotating the input sets) captured once in a CUDA graph and replayed between two
#           events: device time only, for every implementation alike (the default)
#   batch   the same launches enqueued back to back between two events
#   launch  one launch between its own two events
# The launches per sample: as many as make about SAMPLE_MS of work, at most INNER, at least one. Ten 3-ms
# launches a sample at S 16384 kept the GPU busy ten times as long as single launches did, and every
# implementation read about 10% lower for it (clocks under sustained load; RESULTS.md, 20:45 entry).
TIMING = os.environ.get("BENCH_TIMING", "graph")
INNER = int(os.environ.get("BENCH_INNER", "10"))
SAMPLE_MS = float(os.environ.get("BENCH_SAMPLE_MS", "1.0"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "0"))  # 0: as many rounds as implementations
# The H100 runs these kernels at its 700 W power limit: a few seconds of one kernel settle at 1.4-1.8 GHz (by kernel),
# where the 30 ms bursts of the default timing start from whatever clock the last idle moment left. Kernels that
# tie under sustained load read up to 10% apart in bursts (RESULTS.md, Hopper, 2026-11-24 01:45). With
# BENCH_SUSTAIN_MS each implementation first runs that long (graph replays, no gap before the samples).
SUSTAIN_MS = float(os.environ.get("BENCH_SUSTAIN_MS", "0"))


def timed(fn, sets):
    """Median per-launch time in ms, and the method it was taken with (graph falls back to batch
    where an implementation cannot be captured)."""
    for i in range(WARM):
        fn(*sets[i % len(sets)])
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for i in range(len(sets)):
        fn(*sets[i])
    b.record()
    b.synchronize()
    rough = a.elapsed_time(b) / len(sets)
    inner = 1 if TIMING == "launch" else max(1, min(INNER, round(SAMPLE_MS / max(rough, 1e-3))))
    method = TIMING

    def sample(i):
        for j in range(inner):
            fn(*sets[(i * inner + j) % len(sets)])

    if TIMING == "graph":
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                sample(0)
            sample = lambda i: graph.replay()  # noqa: E731
        except Exception:
            torch.cuda.synchronize()
            method = "batch"
    if SUSTAIN_MS > 0:
        for i in range(max(1, round(SUSTAIN_MS / max(rough * inner, 1e-3)))):
            sample(i)
    times = []
    for i in range(REPS):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        sample(i)
        b.record()
        times.append((a, b))
    torch.cuda.synchronize()
    ms = sorted(a.elapsed_time(b) / inner for a, b in times)
    return ms[len(ms) // 2], method


def main():
    lib = fa.load(sys.argv[1])
    out_path = sys.argv[2]
    extra = [(f"ours{i + 2}", fa.load(x)) for i, x in enumerate(sys.argv[3:])]  # other builds of the portable kernel
    ours_names = ["ours"] + [n for n, _ in extra]
    dtypes = [{"bf16": torch.bfloat16, "fp16": torch.float16}[x] for x in os.environ.get("BENCH_DTYPES", "bf16 fp16").split()]
    dims = [int(x) for x in os.environ.get("BENCH_D", "64 128 256").split()]
    with_dispatch = os.environ.get("BENCH_DISPATCH", "1") != "0"
    lengths = [int(x) for x in os.environ.get("BENCH_S", "512 1024 2048 4096 8192 16384").split()]
    rows = []
    for dt in dtypes:
        for D in dims:
            for causal in (False, True):
                for S in lengths:
                    B, H = 16384 // S, 2048 // D
                    sets = []
                    for _ in range(SETS):  # each set is 3 x 64 MB: rotation defeats the 50 MB L2
                        q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=dt) for _ in range(3))
                        sets.append((q, k, v, torch.empty_like(q)))
                    p = fa.grid_params(dt, B, S, H, D, causal)

                    def kernel(library):
                        def f(q, k, v, o):
                            p.q, p.k, p.v, p.o = fa.view(q, "bshd"), fa.view(k, "bshd"), fa.view(v, "bshd"), fa.view(o, "bshd")
                            # the current stream, read per call: a graph capture runs on its own
                            err = fa.run(library, p, torch.cuda.current_stream().cuda_stream)
                            if err:
                                raise RuntimeError(err)
                        return f

                    def sdpa(backend):
                        def f(q, k, v, o):
                            with sdpa_kernel(backend):
                                torch.nn.functional.scaled_dot_product_attention(
                                    q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal)
                        return f

                    flop = 4 * B * H * S * S * D / (2 if causal else 1)
                    row = {"dtype": str(dt).split(".")[1], "D": D, "S": S, "B": B, "H": H, "causal": causal}
                    # "ours": the portable sm80+ kernel (Hopper kernel switched off); "dispatch": what
                    # Run picks on this GPU (the sm90a kernel where it takes the params).
                    q, k, v, o = sets[0]
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        ref = torch.nn.functional.scaled_dot_product_attention(
                            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal).transpose(1, 2).float()
                    impls = [("ours", kernel(lib))] + [(n, kernel(x)) for n, x in extra] + (
                        [("dispatch", kernel(lib))] if with_dispatch else []) + [
                        ("flash", sdpa(SDPBackend.FLASH_ATTENTION)), ("cudnn", sdpa(SDPBackend.CUDNN_ATTENTION))]
                    def use_portable(name):
                        if name in ours_names:
                            os.environ["FA_ONNX_HOPPER"] = "0"
                        else:
                            os.environ.pop("FA_ONNX_HOPPER", None)

                    samples = {name: [] for name, _ in impls}
                    for name, fn in impls:  # first the output check: the timed kernel must compute the right thing
                        use_portable(name)
                        try:
                            if name in ours_names + ["dispatch"]:
                                o.fill_(float("nan"))
                                fn(q, k, v, o)
                                err = ((o.float() - ref).norm() / ref.norm()).item()
                                row[name + "_err_vs_flash"] = err
                                if not err <= 2e-2:
                                    row[name + "_wrong"] = True
                        except Exception as e:  # a backend that refuses a shape is recorded as such
                            samples[name] = None
                            row[name + "_error"] = str(e)[:200]
                    rounds = ROUNDS if ROUNDS > 0 else len(impls)
                    for rnd in range(rounds):  # the implementations take turns, so clock drift hits them alike;
                        # each takes every position and neighbour (rounds.py): the first timed after a new point's
                        # setup, and the one timed after cuDNN, read up to 5-7% low in A/A runs (RESULTS.md)
                        for name, fn in (impls[i] for i in round_order(len(impls), rnd)):
                            if samples[name] is None:
                                continue
                            use_portable(name)
                            try:
                                ms, row[name + "_timing"] = timed(fn, sets)
                                samples[name].append(ms)
                            except Exception as e:
                                samples[name] = None
                                row[name + "_error"] = str(e)[:200]
                    for name, _ in impls:
                        ms = sorted(samples[name]) if samples[name] else None
                        row[name] = None if ms is None else flop / (statistics.median(ms) * 1e-3) / 1e12
                        if ms is not None and len(ms) > 1:
                            row[name + "_spread"] = (ms[-1] - ms[0]) / ms[len(ms) // 2]
                    os.environ.pop("FA_ONNX_HOPPER", None)
                    rows.append(row)
                    f = lambda x: "  n/a" if x is None else f"{x:5.0f}"
                    print(f"{row['dtype']:8s} D{D:<3d} S{S:<5d} causal={int(causal)}  "
                          + "".join(f"{n} {f(row.get(n))}  " for n in ours_names + ["dispatch"])
                          + f"flash {f(row['flash'])}  cudnn {f(row['cudnn'])}  err "
                          + "/".join(f"{row.get(n + '_err_vs_flash', math.nan):.1e}" for n in ours_names + ["dispatch"]),
                          flush=True)
                    del sets
    with open(out_path, "w") as fh:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "timing": TIMING,
                   "inner": INNER, "rounds": ROUNDS or "one per implementation", "sustain_ms": SUSTAIN_MS, "rows": rows}, fh, indent=1)
    fallbacks = sorted({k[:-len("_timing")] for r in rows for k, v in r.items() if k.endswith("_timing") and v != TIMING})
    print(f"\ntiming: {TIMING}, {1 if TIMING == 'launch' else f'up to {INNER}'} launches a sample (about {SAMPLE_MS} ms), median of {REPS}, median of {ROUNDS or 'one per implementation'} rounds"
          + (f", each after {SUSTAIN_MS:.0f} ms of sustained load" if SUSTAIN_MS > 0 else "")
          + (f"; timed batched (not capturable in a graph): {', '.join(fallbacks)}" if fallbacks else ""))
    # Short table last: TFLOP/s, ratio to flash and cuDNN.
    # ours: the first build (sm80 kernel); ours2..: the other builds; dispatch: what Run picks here.
    print("\n| dtype | D | causal | S | " + " | ".join(ours_names) + " | dispatch | flash | cuDNN | "
          + " | ".join(n + "/flash" for n in ours_names) + " | ours/cuDNN | dispatch/cuDNN |")
    for r in rows:
        dp, fl, cu = r.get("dispatch"), r["flash"], r["cudnn"]
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "n/a"
        g = lambda x, w=False: "n/a" if x is None else f"{x:.0f}" + (" WRONG" if w else "")
        print(f"| {r['dtype']} | {r['D']} | {int(r['causal'])} | {r['S']} | "
              + " | ".join(g(r.get(n), r.get(n + "_wrong")) for n in ours_names)
              + f" | {g(dp, r.get('dispatch_wrong'))} | {g(fl)} | {g(cu)} | "
              + " | ".join(ratio(r.get(n), fl) for n in ours_names) + f" | {ratio(r['ours'], cu)} | {ratio(dp, cu)} |")


if __name__ == "__main__":
    main()
