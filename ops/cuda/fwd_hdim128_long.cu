// Plain forward kernel for head dim 128, long-sequence shape (long_shape in fwd_kernel.cuh): calls
// without a causal or sliding window and with many keys per query row, in its own file for a parallel build.
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(, 128, kLongShape)
}  // namespace fa_onnx::cuda
