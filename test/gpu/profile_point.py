"""Runs one forward call a few times at one anchors-grid point, for a profiler (ncu) to attach to:
python3 profile_point.py LIB.so|cudnn|flash D S causal [dtype]. The grid's shape rules (batch·S = 16k
tokens, heads·D = 2048). LIB.so is the CUDA library (FA_ONNX_HOPPER=0 for the portable kernel);
"cudnn" and "flash" run torch's SDPA backend of that name on the same tensors (the anchors)."""
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

import fa

TORCH_BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}


def main():
    which = sys.argv[1]
    D, S, causal = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] in ("1", "true", "yes")
    dt = {"bf16": torch.bfloat16, "fp16": torch.float16}[sys.argv[5] if len(sys.argv) > 5 else "bf16"]
    B, H = 16384 // S, 2048 // D
    q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=dt) for _ in range(3))
    if which in TORCH_BACKENDS:
        # SDPA takes [B, H, S, D]; the transposed views keep the BSHD storage
        qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
        with sdpa_kernel(TORCH_BACKENDS[which]):
            for _ in range(3):
                torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=causal)
        torch.cuda.synchronize()
        return
    lib = fa.load(which)
    o = torch.empty_like(q)
    p = fa.grid_params(dt, B, S, H, D, causal)
    p.q, p.k, p.v, p.o = fa.view(q, "bshd"), fa.view(k, "bshd"), fa.view(v, "bshd"), fa.view(o, "bshd")
    for _ in range(3):
        err = fa.run(lib, p)
        if err:
            raise RuntimeError(err)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
