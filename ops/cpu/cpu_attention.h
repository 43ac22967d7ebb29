// The CPU provider's kernel entry points (the counterpart of fa_onnx::cuda in kernels.h).
// They read only AttentionParams / KVAppendParams, so they do not depend on ONNX Runtime; the caller
// supplies the thread pool as a ParallelFor.
#pragma once

#include <cstddef>
#include <string>

#include "fa_onnx/attention_params.h"

namespace fa_onnx::cpu {

// Runs fn(data, i) for i in [0, total), possibly in parallel, and returns when all are done.
struct ParallelFor {
  void (*run)(void* pool, void (*fn)(void*, size_t), size_t total, void* data) = nullptr;
  void* pool = nullptr;
  void operator()(void (*fn)(void*, size_t), size_t total, void* data) const {
    if (run) {
      run(pool, fn, total, data);
    } else {
      for (size_t i = 0; i < total; ++i) fn(data, i);
    }
  }
};

// Attention forward (tiled online softmax). Empty string on success, else why not.
std::string Run(const AttentionParams& params, const ParallelFor& parallel_for);

// Writes new keys/values into the cache (FlashAttentionKVCache) before attending.
std::string AppendKV(const KVAppendParams& params);

}  // namespace fa_onnx::cpu
