// The one validation layer both providers share: ONNX Runtime inputs and attributes in,
// AttentionParams (and the KV-cache work) out, or an error message that starts with the op name.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fa_onnx/attention_params.h"
#include "kernel.h"

namespace fa_onnx::reg {

struct ValidatedCall {
  AttentionParams params;
  // FlashAttentionKVCache: cache copies (when ONNX Runtime did not give the outputs the input buffers),
  // then the append of the new keys/values, both before attending.
  struct Copy {
    const void* src;
    void* dst;
    size_t bytes;
  };
  std::vector<Copy> cache_copies;
  bool append = false;
  KVAppendParams append_params;
};

// Checks every input and allocates the outputs. `host_values` says whether length/offset tensors can
// be read on the host (CPU provider): their values are then checked too. On CUDA they live on the
// device and reading them would need a sync, so only shapes are checked there and the CUDA kernels
// must stay within bounds on their own for bad values.
std::string Validate(const Kernel& kernel, OrtKernelContext* context, bool host_values, ValidatedCall* out);

}  // namespace fa_onnx::reg
