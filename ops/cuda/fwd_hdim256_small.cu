// Plain forward kernel for head dim 256 on devices with 99 KB of shared memory per block (sm86, sm89):
// the fallback shape of FwdConfig<256> (whose default tile needs 128 KB), in its own file for a parallel build.
#include "fwd_launch.cuh"

namespace fa_onnx::cuda {
FA_ONNX_FWD_SHAPE(, 256, kSmallSmemShape)
}  // namespace fa_onnx::cuda
