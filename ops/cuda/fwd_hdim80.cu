// Plain forward kernel instantiations for head dim 80 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_INSTANTIATE_FWD(80, false)
}  // namespace fa_onnx::cuda
