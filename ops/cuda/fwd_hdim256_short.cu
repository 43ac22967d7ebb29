// Plain forward kernel for head dim 256, short-sequence shape (short_shape in fwd_kernel.cuh): calls
// with few keys per query row, in its own file for a parallel build.
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(, 256, kShortShape)
}  // namespace fa_onnx::cuda
