// Field offsets of the kernel-facing structs, for the test shims' fa_params_layout: the Python side
// (test/gpu/fa.py) mirrors AttentionParams with ctypes and checks its layout against this list.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fa_onnx/attention_params.h"

inline int FillParamsLayout(int64_t* out, int n) {
  using fa_onnx::AttentionParams;
  const int64_t v[] = {sizeof(AttentionParams),
                       offsetof(AttentionParams, q),
                       offsetof(AttentionParams, o),
                       offsetof(AttentionParams, lse),
                       offsetof(AttentionParams, cu_seqlens_q),
                       offsetof(AttentionParams, total_q),
                       offsetof(AttentionParams, total_k),
                       offsetof(AttentionParams, key_lengths),
                       offsetof(AttentionParams, block_size),
                       offsetof(AttentionParams, bias),
                       offsetof(AttentionParams, mask),
                       offsetof(AttentionParams, alibi_slopes),
                       offsetof(AttentionParams, q_descale),
                       offsetof(AttentionParams, scale),
                       offsetof(AttentionParams, bottom_right),
                       offsetof(AttentionParams, masked_rows),
                       sizeof(fa_onnx::KVAppendParams),
                       offsetof(fa_onnx::KVAppendParams, cache_seqlens),
                       offsetof(fa_onnx::KVAppendParams, block_size)};
  const int count = int(sizeof(v) / sizeof(v[0]));
  for (int i = 0; i < count && i < n; ++i) out[i] = v[i];
  return count;
}
