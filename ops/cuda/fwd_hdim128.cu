// Plain forward kernel instantiations for head dim 128 (one file per head dim and kernel: parallel, bounded builds).
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(extern, 128, kShortShape)  // the short-sequence shape: fwd_hdim128_short.cu
FA_ONNX_FWD_SHAPE(extern, 128, kLongShape)   // the long-sequence shape: fwd_hdim128_long.cu
FA_ONNX_INSTANTIATE_FWD(128, false)
}  // namespace fa_onnx::cuda
