// Plain forward kernel instantiations for head dim 160 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_INSTANTIATE_FWD(160, false)
}  // namespace fa_onnx::cuda
