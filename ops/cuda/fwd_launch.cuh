// Host launch of one forward instantiation; each fwd_hdim*.cu instantiates it for one head dim, so
// the build compiles head dims in parallel.
#pragma once

#include <cuda_runtime.h>

#include "fwd_kernel.cuh"

namespace fa_onnx::cuda {

template <typename T, int kD, bool kConvert>
cudaError_t launch_fwd(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  using C = FwdConfig<kD>;
  auto kernel = fwd_kernel<T, kD, kConvert>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  if (err != cudaSuccess) return err;
  const dim3 grid((p.seqlen_q + C::kBM - 1) / C::kBM, p.heads_q, p.batch * sa.num_splits);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p, sa);
  return cudaGetLastError();
}

// fp16 and bf16 natively; fp32 and FP8 inputs converted to bf16 tiles on load.
#define FA_ONNX_INSTANTIATE_FWD(D)                                                                           \
  template cudaError_t launch_fwd<__half, D, false>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  template cudaError_t launch_fwd<__nv_bfloat16, D, false>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  template cudaError_t launch_fwd<__nv_bfloat16, D, true>(const AttentionParams&, const SplitArgs&, cudaStream_t);

}  // namespace fa_onnx::cuda
