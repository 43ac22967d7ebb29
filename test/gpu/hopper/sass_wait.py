#!/usr/bin/env python3
"""Where the steady-state loop of each plain Hopper kernel waits for its P·V, read from SASS.

  cuobjdump --dump-sass LIB | python3 sass_wait.py

Per kernel: the exponentials (MUFU.EX2) between the wait for the next Q·Kᵀ (DEPBAR ... 0x1) and the
wait for P·V (DEPBAR ... 0x0), and after it until the next HGMMA (the softcap branch's tanh adds
kBlockN / 2 to "before"). Exponentials after the P·V wait run
once the tensor cores are done with this warpgroup's P·V, instead of beside it. Also LDL/STL counts.
"""
import re
import sys

name, body = None, []
kernels = {}
for line in sys.stdin:
    m = re.search(r"Function : (\S+)", line)
    if m:
        name = m.group(1)
        kernels[name] = body = []
        continue
    if name is not None:
        ins = re.sub(r"/\*[0-9a-f]+\*/", "", line).split(";")[0].strip()
        if ins and not ins.startswith("/*"):
            body.append(ins)

for name, ins in kernels.items():
    if "FlashFwdHopper" not in name:
        continue
    shape = re.search(r"FwdShapeILi(\d+)ELi(\d+)ELi(\d+)ELi(\d+)EEELb(\d)ELb(\d)ELi(\d)E(Lb(\d)E)?", name)
    dtype = "bf16" if "bfloat16" in name else "fp16"
    if shape is None:
        continue
    d, bn, st, wgs, _, split, extra, _, varlen = shape.groups()
    kind = " varlen" if varlen == "1" else ""
    if split != "0" or extra != "0":
        continue
    before = after = -1
    for i, s in enumerate(ins):
        if "WARPGROUP.DEPBAR.LE gsb0, 0x1" in s:
            j = i + 1
            while j < len(ins) and "WARPGROUP.DEPBAR.LE gsb0, 0x0" not in ins[j]:
                j += 1
            before = sum("MUFU.EX2" in x for x in ins[i:j])
            k = j + 1
            while k < len(ins) and "HGMMA" not in ins[k]:
                k += 1
            after = sum("MUFU.EX2" in x for x in ins[j:k])
            break
    ldl = sum(bool(re.search(r"\b(LDL|STL)\b", x)) for x in ins)
    waits = sum("WARPGROUP.DEPBAR" in x for x in ins)
    print(f"sass {dtype}{kind} D{d} BN{bn} stages{st} wgs{wgs}: steady-state exp2 before P·V wait {before}, after {after}; "
          f"wgmma waits {waits}; LDL/STL {ldl}; instructions {len(ins)}")
