// Host launch of one forward instantiation; each fwd_hdim<D>.cu / fwd_hdim<D>_general.cu instantiates
// it for one head dim and kernel, so the build compiles them in parallel.
#pragma once

#include <cuda_runtime.h>

#include "fwd_kernel.cuh"

namespace fa_onnx::cuda {

template <typename T, int kD, bool kConvert, bool kGeneral, bool kSmallSmem>
cudaError_t launch_config(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  using C = FwdConfig<kD, kGeneral, kSmallSmem>;
  auto kernel = fwd_kernel<T, kD, kConvert, kGeneral, kSmallSmem>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  if (err != cudaSuccess) return err;
  const dim3 grid((p.seqlen_q + C::kBM - 1) / C::kBM, p.heads_q, p.batch * sa.num_splits);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p, sa);
  return cudaGetLastError();
}

// The shape of FwdConfig, or its small-shared-memory fallback (instantiated in its own file,
// fwd_hdim<D>_small.cu) on devices whose per-block limit is below the shape's need (sm86/sm89).
template <typename T, int kD, bool kConvert, bool kGeneral>
cudaError_t launch_variant(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  if constexpr (FwdConfig<kD, kGeneral>::kNeedsSmallFallback) {
    if (device_smem_optin() < FwdConfig<kD, kGeneral>::kSmemBytes) return launch_config<T, kD, kConvert, kGeneral, true>(p, sa, stream);
  }
  return launch_config<T, kD, kConvert, kGeneral, false>(p, sa, stream);
}

// fp16 and bf16 natively; fp32 and FP8 inputs converted to bf16 tiles on load.
#define FA_ONNX_INSTANTIATE_FWD(D, GENERAL)                                                                           \
  template cudaError_t launch_variant<__half, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  template cudaError_t launch_variant<__nv_bfloat16, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  template cudaError_t launch_variant<__nv_bfloat16, D, true, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);

// The small-shared-memory fallback of a plain shape that needs it (launch_variant's other branch):
// instantiated in fwd_hdim<D>_small.cu (PREFIX empty), declared extern in fwd_hdim<D>.cu (PREFIX extern)
// so that the two compile in parallel.
#define FA_ONNX_FWD_SMALL(PREFIX, D)                                                                                              \
  PREFIX template cudaError_t launch_config<__half, D, false, false, true>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, false, false, true>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, true, false, true>(const AttentionParams&, const SplitArgs&, cudaStream_t);

}  // namespace fa_onnx::cuda
