#!/usr/bin/env python3
"""Two or more builds of the Hopper kernel timed against each other, interleaved (GPU machine).

A whole-grid sweep per build drifts with the clock (the same SASS measured 5% apart in one run), so
here every point times the builds in turn, `--rounds` times (in the orders of ../rounds.py: every position
and every neighbour once; default one round per build, at least 4), and reports each build's median and
its ratio to the first build. Give one library twice (under two names) for an A/A control: the spread
between those two columns is the noise to read the others by.

  compare.py --libs base=LIB1 new=LIB2 [--points D,S,causal ...] [--rounds N] [--dtype bf16|fp16] [--sustain-ms MS]

--sustain-ms runs each build that long without a break before its samples (the clock under sustained load).
"""
import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# rounds.py from test/gpu, searched after this folder: test/gpu has a check.py of its own
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from check import Kernel, make_qkv, time_ms  # noqa: E402
from rounds import round_order  # noqa: E402

DEFAULT_POINTS = [f"{d},{s},{c}" for d in (64, 128, 256) for c in (0, 1) for s in (512, 2048, 8192)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--libs", nargs="+", required=True, help="name=path; the first is the reference")
    ap.add_argument("--points", nargs="*", default=DEFAULT_POINTS, help="D,S,causal (anchors grid shapes)")
    ap.add_argument("--rounds", type=int, default=0, help="0: one per build (at least 4)")
    ap.add_argument("--dtype", choices=["bf16", "fp16"], default="bf16")
    ap.add_argument("--sustain-ms", type=float, default=0.0, help="run each build this long before its samples")
    a = ap.parse_args()
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float16
    builds = [(spec.split("=", 1)[0], Kernel(spec.split("=", 1)[1])) for spec in a.libs]
    print(f"device: {torch.cuda.get_device_name()}  {a.dtype}  rounds {a.rounds or max(4, len(builds))}"
          + (f"  sustained {a.sustain_ms:.0f} ms" if a.sustain_ms else ""))
    print("point".ljust(20) + "".join(f"{n:>10s}" for n, _ in builds) + "   ratios to " + builds[0][0])
    for point in a.points:
        D, S, causal = (int(x) for x in point.split(","))
        B, H = 16384 // S, 2048 // D
        flops = 4.0 * B * H * S * S * D / (2 if causal else 1)
        sets = make_qkv(B, S, S, H, H, D, dtype, "BSHD", sets=3)
        outs = [torch.empty_like(q) for q, _, _ in sets]
        window = (-1, 0) if causal else (-1, -1)
        launches = {n: [k.prepare(q, kk, v, o, window=window) for (q, kk, v), o in zip(sets, outs)]
                    for n, k in builds}
        rates = {n: [] for n, _ in builds}
        for r in range(a.rounds or max(4, len(builds))):
            # Every build in every position and behind every other (rounds.py): the first one timed after a
            # new point's setup, and the one timed after a given neighbour, read differently from the rest.
            for n, _ in (builds[i] for i in round_order(len(builds), r)):
                ms = time_ms(lambda i: launches[n][i](), [(i,) for i in range(3)], reps=5, inner=10,
                             sustain_ms=a.sustain_ms)
                rates[n].append(flops / ms / 1e9)
        med = {n: statistics.median(r) for n, r in rates.items()}
        ref = med[builds[0][0]]
        print(f"D{D} S{S} causal{causal}".ljust(20) + "".join(f"{med[n]:10.0f}" for n, _ in builds) + "   " +
              " ".join(f"{med[n] / ref:.3f}" for n, _ in builds[1:]) +
              "   spread " + " ".join(f"{min(r):.0f}-{max(r):.0f}" for r in rates.values()), flush=True)
        del sets, outs, launches
    return 0


if __name__ == "__main__":
    sys.exit(main())
