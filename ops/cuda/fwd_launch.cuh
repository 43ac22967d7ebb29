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

// Launches the shape shape_variant picks (the others are instantiated in fwd_hdim<D>_small.cu / _short.cu / _long.cu).
template <typename T, int kD, bool kConvert, bool kGeneral>
cudaError_t launch_variant(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  using C = FwdConfig<kD, kGeneral>;
  switch (shape_variant<kD, kGeneral>(p)) {
    case kSmallSmemShape:
      if constexpr (C::kNeedsSmallFallback) return launch_config<T, kD, kConvert, kGeneral, kSmallSmemShape>(p, sa, stream);
      break;
    case kShortShape:
      if constexpr (C::kHasShort) return launch_config<T, kD, kConvert, kGeneral, kShortShape>(p, sa, stream);
      break;
    case kLongShape:
      if constexpr (C::kHasLong) return launch_config<T, kD, kConvert, kGeneral, kLongShape>(p, sa, stream);
      break;
  }
  return launch_config<T, kD, kConvert, kGeneral, kMainShape>(p, sa, stream);
}

// fp16 and bf16 natively; fp32 and FP8 inputs converted to bf16 tiles on load.
#define FA_ONNX_INSTANTIATE_FWD(D, GENERAL)                                                                           \
  template cudaError_t launch_variant<__half, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  template cudaError_t launch_variant<__nv_bfloat16, D, false, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  template cudaError_t launch_variant<__nv_bfloat16, D, true, GENERAL>(const AttentionParams&, const SplitArgs&, cudaStream_t);

// Another plain shape of a head dim that launch_variant may pick (VAR: kSmallSmemShape, kShortShape,
// kLongShape): instantiated in its own file, fwd_hdim<D>_small.cu / _short.cu / _long.cu (PREFIX empty), and declared extern
// in fwd_hdim<D>.cu (PREFIX extern) so that the two compile in parallel.
#define FA_ONNX_FWD_SHAPE(PREFIX, D, VAR)                                                                                        \
  PREFIX template cudaError_t launch_config<__half, D, false, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t);        \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, false, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t); \
  PREFIX template cudaError_t launch_config<__nv_bfloat16, D, true, false, VAR>(const AttentionParams&, const SplitArgs&, cudaStream_t);

}  // namespace fa_onnx::cuda
