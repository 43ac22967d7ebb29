// Host launch of one forward instantiation; each fwd_hdim<D>.cu / fwd_hdim<D>_general.cu instantiates
// it for one head dim and kernel, so the build compiles them in parallel.
#pragma once

#include <cuda_runtime.h>

#include "fwd_kernel.cuh"

namespace fa_onnx::cuda {

template <typename T, int kD, bool kConvert, bool kGeneral, int kVar>
cudaError_t launch_config(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  using C = FwdConfig<kD, kGeneral, kVar>;
  auto kernel = fwd_kernel<T, kD, kConvert, kGeneral, kVar>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  if (err != cudaSuccess) return err;
  const dim3 grid((p.seqlen_q + C::kBM - 1) / C::kBM, p.heads_q, p.batch * sa.num_splits);
  kernel<<<grid, C::kThreads, C::kSmemBytes, stream>>>(p, sa);
  return cudaGetLastError();
}

// The shape of FwdConfig; its small-shared-memory fallback (fwd_hdim<D>_small.cu) on devices whose
// per-block limit is below the shape's need (sm86/sm89); or the short-sequence shape
// (fwd_hdim<D>_short.cu) for plain calls with few keys per row (use_short_shape).
template <typename T, int kD, bool kConvert, bool kGeneral>
cudaError_t launch_variant(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  if constexpr (FwdConfig<kD, kGeneral>::kNeedsSmallFallback) {
    if (device_smem_optin() < FwdConfig<kD, kGeneral>::kSmemBytes) return launch_config<T, kD, kConvert, kGeneral, kSmallSmemShape>(p, sa, stream);
  }
  if constexpr (FwdConfig<kD, kGeneral>::kHasShort) {
    if (use_short_shape<kD>(p)) return launch_config<T, kD, kConvert, kGeneral, kShortShape>(p, sa, stream);
  }
  return launch_config<T, kD, kConvert, kGeneral, kMainShape>(p, sa, stream);
}

// fp16 and bf16 natively; fp32 and FP8 inputs converted to bf16 tiles on load.
#define FA_ONNX_INSTANTIATE_FWD(D, GENERAL)                                                                           \
  template cudaError_t launch_variant<__half, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  template cudaError_t launch_variant<__nv_bfloat16, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  template cudaError_t launch_variant<__nv_bfloat16, D, true, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);

// Another plain shape of a head dim that launch_variant may pick (VAR: kSmallSmemShape, kShortShape):
// instantiated in its own file, fwd_hdim<D>_small.cu / _short.cu (PREFIX empty), and declared extern
// in fwd_hdim<D>.cu (PREFIX extern) so that the two compile in parallel.
#define FA_ONNX_FWD_SHAPE(PREFIX, D, VAR)                                                                                        \
  PREFIX template cudaError_t launch_config<__half, D, false, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, false, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, true, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t);

}  // namespace fa_onnx::cuda
