"""Power draw and SM clock under sustained load: the dispatch (fa-onnx's CUDA library) and torch's cuDNN SDPA at
anchors-grid points, each run for a few seconds while nvidia-smi samples every 50 ms (GPU machine).

  python3 power_probe.py LIB.so D,S,causal [D,S,causal ...]

Prints, per point and round, the host-loop rate in TFLOP/s and the median power and SM clock. On the H100 every
grid kernel runs at the 700 W limit, so sustained rates follow work per joule (bench/RESULTS.md, Hopper,
2026-11-24 01:45)."""
import statistics
import subprocess
import sys
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import fa

SETTLE_S, MEASURE_S, ROUNDS = 1.0, 3.0, 2


def run_for(fn, seconds):
    """Launches fn in batches of 20 until `seconds` have passed; returns launches and elapsed seconds."""
    torch.cuda.synchronize()
    t0, n = time.time(), 0
    while time.time() - t0 < seconds:
        for _ in range(20):
            fn()
        torch.cuda.synchronize()
        n += 20
    return n, time.time() - t0


def sampled(fn):
    """Runs fn for MEASURE_S under nvidia-smi; returns launches per second, median watts and MHz."""
    smi = subprocess.Popen(["nvidia-smi", "--query-gpu=power.draw,clocks.sm", "--format=csv,noheader,nounits",
                            "-lms", "50"], stdout=subprocess.PIPE, text=True)
    n, elapsed = run_for(fn, MEASURE_S)
    smi.terminate()
    samples = [[float(x) for x in line.split(",")] for line in smi.communicate()[0].splitlines() if line.strip()]
    return n / elapsed, statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def main():
    lib = fa.load(sys.argv[1])
    for spec in sys.argv[2:]:
        D, S, causal = (int(x) for x in spec.split(","))
        B, H = 16384 // S, 2048 // D
        q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        p = fa.grid_params(torch.bfloat16, B, S, H, D, causal)
        p.q, p.k, p.v, p.o = fa.view(q, "bshd"), fa.view(k, "bshd"), fa.view(v, "bshd"), fa.view(o, "bshd")
        qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))

        def ours():
            err = fa.run(lib, p)
            if err:
                raise RuntimeError(err)

        def cudnn():
            with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=bool(causal))

        flop = 4.0 * B * H * S * S * D / (2 if causal else 1)
        for rnd in range(ROUNDS):
            for name, fn in (("ours", ours), ("cudnn", cudnn)):
                run_for(fn, SETTLE_S)
                rate, watts, mhz = sampled(fn)
                print(f"bf16 D{D} S{S} causal={causal} round {rnd} {name:5s}: {flop * rate / 1e12:5.0f} TFLOP/s"
                      f"  {watts:4.0f} W  {mhz:5.0f} MHz", flush=True)


if __name__ == "__main__":
    main()
