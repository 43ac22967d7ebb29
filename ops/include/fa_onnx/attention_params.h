// Kernel-facing description of one attention call (see ops/README.md for the semantics).
// The registration layer (ops/registration) validates ONNX Runtime inputs and fills this; the CPU and
// CUDA kernels read only this, so every provider sees the same, already-checked problem.
#pragma once

#include <cstdint>

namespace fa_onnx {

enum class DType : int { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2, kFloat8E4M3 = 3 };

enum class MaskedRows : int { kZero = 0, kUniform = 1, kNaN = 2 };

// A strided view of a [batch, seq, heads, dim] tensor; dim is contiguous (stride 1).
// Rank-3 packed, BSHD and BHSD inputs all map onto this by their strides (in elements).
struct TensorView {
  const void* data = nullptr;
  int64_t batch_stride = 0;
  int64_t seq_stride = 0;
  int64_t head_stride = 0;
};

struct MutableTensorView {
  void* data = nullptr;
  int64_t batch_stride = 0;
  int64_t seq_stride = 0;
  int64_t head_stride = 0;
};

// A tensor broadcast to [B, Hq, Sq, Sk]: a broadcast axis has stride 0.
struct BroadcastView {
  const void* data = nullptr;  // nullptr: absent
  int64_t stride[4] = {0, 0, 0, 0};
};

struct AttentionParams {
  DType dtype = DType::kFloat32;  // of query/key/value (and output, except for FP8: bfloat16 out)
  int batch = 0;
  int heads_q = 0;
  int heads_kv = 0;
  int seqlen_q = 0;    // dense: Sq; varlen: max over sequences
  int seqlen_k = 0;    // dense: Sk; varlen: max over sequences; kv cache: capacity
  int head_dim = 0;    // D
  int head_dim_v = 0;  // Dv

  TensorView q, k, v;
  MutableTensorView o;
  float* lse = nullptr;  // optional float32 output
  int64_t lse_batch_stride = 0, lse_head_stride = 0, lse_seq_stride = 0;

  // Varlen: token offsets per sequence (batch + 1 entries); q/k/v/o batch strides are then 0 and
  // a sequence's rows start at its offset along the seq axis.
  const int32_t* cu_seqlens_q = nullptr;
  const int32_t* cu_seqlens_k = nullptr;
  // Varlen: the packed token counts Tq, Tk (the tensors' extents along the seq axis). The offsets live
  // in device memory on CUDA; these host-side totals bound them (kernels clamp offset + length to them)
  // and size the Hopper kernel's tensor maps.
  int total_q = 0;
  int total_k = 0;

  // Dense key padding: keys j >= key_lengths[b] take no part.
  const int32_t* key_lengths = nullptr;

  // KV cache: keys/values of batch b are its first cache_lengths[b] + cache_new_tokens positions
  // (cache_lengths is the cache_seqlens input, the cache before this step; cache_new_tokens is Sq when
  // new keys/values were appended, else 0: on CUDA the lengths live on the device, so the host cannot
  // add them up without a sync); paged when block_table is set (k/v batch strides then address blocks).
  const int32_t* cache_lengths = nullptr;
  int cache_new_tokens = 0;
  const int32_t* block_table = nullptr;
  int64_t block_table_batch_stride = 0;
  int block_size = 0;

  BroadcastView bias;  // dtype as query (float32 for FP8)
  BroadcastView mask;  // bool
  const float* alibi_slopes = nullptr;
  int64_t alibi_batch_stride = 0;  // 0 when slopes are [Hq]

  // FP8 descale factors (float32), per [B, Hk] by stride (0 for a scalar).
  const float* q_descale = nullptr;
  const float* k_descale = nullptr;
  const float* v_descale = nullptr;
  int64_t descale_batch_stride = 0, descale_head_stride = 0;

  float scale = 0.f;    // already resolved (never 0 here)
  float softcap = 0.f;  // 0: none
  int window_left = -1;   // -1: unbounded; causal sets window_right = 0
  int window_right = -1;
  bool bottom_right = false;  // mask alignment
  MaskedRows masked_rows = MaskedRows::kZero;

  bool is_varlen() const { return cu_seqlens_q != nullptr; }
  bool is_causal() const { return window_right == 0; }
  int group_size() const { return heads_q / heads_kv; }
};

// Writing new keys/values into a KV cache (FlashAttentionKVCache) before attending: token t of
// sequence b goes to cache position cache_seqlens[b] + t (paged: through block_table).
struct KVAppendParams {
  DType dtype = DType::kFloat32;
  int batch = 0;
  int heads_kv = 0;
  int new_tokens = 0;
  int head_dim = 0;
  int head_dim_v = 0;
  TensorView k_new, v_new;
  MutableTensorView k_cache, v_cache;  // paged: batch_stride addresses blocks, seq_stride rows
  const int32_t* cache_seqlens = nullptr;
  const int32_t* block_table = nullptr;
  int64_t block_table_batch_stride = 0;
  int block_size = 0;
};

}  // namespace fa_onnx
