// General (bias/mask/ALiBi/softcap) forward kernel instantiations for head dim 32 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_INSTANTIATE_FWD(32, true)
}  // namespace fa_onnx::cuda
