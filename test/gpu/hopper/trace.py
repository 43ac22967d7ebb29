#!/usr/bin/env python3
"""Where a Hopper launch's time goes, from the kernel's own clock readings (GPU machine).

The library must be built with -DFA_HOPPER_TRACE (flash_fwd.cuh records SM clock cycles per CTA,
warpgroup and tile; hopper_attention.cu exports fa_hopper_trace). For each point of the anchors grid
given, one launch is traced after warm-up, and each consumer warpgroup's time is cut into:
  wait_q    previous tile's output written -> this tile's Q arrived (the scheduler, the Q load)
  wait_k    Q arrived -> first K block arrived
  first     first block: Q·Kᵀ, its softmax (nothing of this warpgroup overlaps it)
  main      the remaining blocks' GEMMs and softmax, and the last P·V
  epilogue  last P·V done -> output written
  (the producer's row shows when it found the previous tile's Q slot free.)

  trace.py --lib LIB [--points D,S,causal ...]
"""
import argparse
import ctypes
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import Kernel, make_qkv, time_ms  # noqa: E402

CTAS, TILES, EVENTS = 160, 64, 6  # as kTrace* in flash_fwd.cuh
PHASES = ("wait_q", "wait_k", "first", "main", "epilogue")


def read_trace(lib):
    n = CTAS * 4 * TILES * EVENTS
    buf = (ctypes.c_ulonglong * n)()
    if lib.fa_hopper_trace(buf, ctypes.sizeof(buf), 0) != 0:
        raise RuntimeError("fa_hopper_trace read failed")
    return torch.tensor(list(buf), dtype=torch.float64).view(CTAS, 4, TILES, EVENTS)


def analyse(tr, consumers, sms):
    """Cycles per phase summed over the traced tiles of every consumer warpgroup, and the span."""
    totals = dict.fromkeys(PHASES, 0.0)
    blocks = tiles = 0
    span = 0.0
    for cta in range(min(sms, CTAS)):
        for wg in range(1, consumers + 1):
            ev = tr[cta, wg]
            done = [i for i in range(TILES) if ev[i, 4] > 0]
            if not done:
                continue
            prev_end = None
            for i in done:
                e = ev[i]
                if e[5] <= 0:  # an empty tile (no key blocks): nothing but its wait
                    continue
                if prev_end is not None:
                    totals["wait_q"] += e[0] - prev_end
                totals["wait_k"] += e[1] - e[0]
                totals["first"] += e[2] - e[1]
                totals["main"] += e[3] - e[2]
                totals["epilogue"] += e[4] - e[3]
                blocks += int(e[5])
                tiles += 1
                prev_end = e[4]
            first_start = ev[done[0], 0]
            span += ev[done[-1], 4] - first_start
    return totals, blocks, tiles, span


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--points", nargs="*", default=["128,512,0", "128,2048,0", "128,8192,0", "64,1024,0",
                                                     "256,2048,0", "128,8192,1"])
    a = ap.parse_args()
    kern = Kernel(a.lib)
    lib = kern.lib
    lib.fa_hopper_trace.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    lib.fa_hopper_trace.restype = ctypes.c_int
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(f"device: {torch.cuda.get_device_name()}  SMs {sms}")
    for point in a.points:
        D, S, causal = (int(x) for x in point.split(","))
        B, H = 16384 // S, 2048 // D
        sets = make_qkv(B, S, S, H, H, D, torch.bfloat16, "BSHD", sets=4)
        outs = [torch.empty_like(q) for q, _, _ in sets]
        window = (-1, 0) if causal else (-1, -1)
        launches = [kern.prepare(q, k, v, o, window=window) for (q, k, v), o in zip(sets, outs)]
        ms = time_ms(lambda i: launches[i](), [(i,) for i in range(len(launches))], reps=20, inner=10)
        flops = 4.0 * B * H * S * S * D / (2 if causal else 1)
        lib.fa_hopper_trace(None, 0, 1)
        launches[0]()
        torch.cuda.synchronize()
        tr = read_trace(lib)
        consumers = 3 if int(tr[:, 3, :, 4].gt(0).sum()) > 0 else 2
        totals, blocks, tiles, span = analyse(tr, consumers, sms)
        whole = sum(totals.values())
        print(f"\nD {D} S {S} causal {causal}: {ms * 1e3:.1f} us, {flops / ms / 1e9:.0f} TFLOP/s; "
              f"{tiles} tiles traced over {consumers} consumer warpgroups, {blocks / max(tiles, 1):.1f} key blocks a tile")
        print("  phase      cycles/tile   share")
        for ph in PHASES:
            print(f"  {ph:9s} {totals[ph] / max(tiles, 1):12.0f}  {100 * totals[ph] / max(whole, 1):5.1f}%")
        per_block = totals["main"] / max(blocks - tiles, 1)
        print(f"  main per key block after the first: {per_block:.0f} cycles; "
              f"if every phase ran at that rate: {flops / ms / 1e9 * whole / max(blocks * per_block, 1):.0f} TFLOP/s")
        print(f"  traced span / sum of phases: {span / max(whole, 1):.3f} (1 = every cycle accounted for)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
