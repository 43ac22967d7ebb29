// Plain forward kernel instantiations for head dim 256 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(extern, 256, kSmallSmemShape)  // the small-shared-memory fallback: fwd_hdim256_small.cu
FA_ONNX_FWD_SHAPE(extern, 256, kShortShape)      // the short-sequence shape: fwd_hdim256_short.cu
FA_ONNX_INSTANTIATE_FWD(256, false)
}  // namespace fa_onnx::cuda
