// Launchers of the small kernels in aux_kernels.cu.
#pragma once

#include <cuda_runtime.h>

#include "fa_onnx/attention_params.h"

namespace fa_onnx::cuda {
struct SplitArgs;
cudaError_t launch_combine(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream);
cudaError_t launch_append_kv(const KVAppendParams& a, cudaStream_t stream);
}  // namespace fa_onnx::cuda
