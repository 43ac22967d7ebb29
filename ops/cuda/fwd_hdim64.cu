// Plain forward kernel instantiations for head dim 64 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(extern, 64, kShortShape)  // the short-sequence shape: fwd_hdim64_short.cu
FA_ONNX_INSTANTIATE_FWD(64, false)
}  // namespace fa_onnx::cuda
