// The Hopper (sm_90a) forward kernel's entry points, called by the CUDA dispatch (ops/cuda) on
// devices of compute capability 9.0. Compiled only for sm_90a (ops/cuda/hopper/CMakeLists.txt).
#pragma once

#include <string>

#include "fa_onnx/attention_params.h"
#include "fa_onnx/kernels.h"

namespace fa_onnx::cuda::hopper {

// Empty when the Hopper kernel handles these params, else why not (the dispatch then falls back to
// the portable kernel and can report the reason).
std::string Unsupported(const AttentionParams& params);

// Launches on `stream` (a cudaStream_t); empty string on success.
std::string Run(const AttentionParams& params, void* stream, Scratch& scratch);

}  // namespace fa_onnx::cuda::hopper
