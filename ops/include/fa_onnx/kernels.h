// The kernel entry points the registration layer calls, one set per provider.
// Each returns an empty string on success, else an error message for ONNX Runtime's status.
#pragma once

#include <cstddef>
#include <string>

#include "fa_onnx/attention_params.h"

namespace fa_onnx {

// Scratch memory from ONNX Runtime's allocator of the running provider (device memory on CUDA);
// everything allocated is released when the op call returns.
class Scratch {
 public:
  virtual ~Scratch() = default;
  virtual void* Allocate(size_t bytes) = 0;
};

namespace cuda {
// Why these params cannot run on the CUDA provider of a device with compute capability
// `cc_major.cc_minor` (head dim, dtype, feature), or empty when they can.
std::string Unsupported(const AttentionParams& params, int cc_major, int cc_minor);
// Launches attention on `stream` (a cudaStream_t); never synchronises the host.
std::string Run(const AttentionParams& params, void* stream, Scratch& scratch);
// Cache maintenance for FlashAttentionKVCache, on `stream`.
std::string CopyAsync(void* dst, const void* src, size_t bytes, void* stream);
std::string AppendKV(const KVAppendParams& params, void* stream);
// Compute capability of the current device (cached per device).
std::string DeviceCapability(int* cc_major, int* cc_minor);
}  // namespace cuda

}  // namespace fa_onnx
