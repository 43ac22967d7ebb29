// Small kernels beside the forward kernel: the combine step of a key-split launch, and the
// KV-cache append of FlashAttentionKVCache.
#include <cuda_runtime.h>

#include "aux_kernels.h"
#include "fwd_kernel.cuh"

namespace fa_onnx::cuda {
namespace {

__device__ void store_one(const AttentionParams& p, int64_t e, float x) {
  switch (p.dtype) {
    case DType::kFloat16: static_cast<__half*>(p.o.data)[e] = __float2half_rn(x); break;
    case DType::kFloat32: static_cast<float*>(p.o.data)[e] = x; break;
    default: static_cast<__nv_bfloat16*>(p.o.data)[e] = __float2bfloat16_rn(x); break;  // bf16, FP8 -> bf16
  }
}

// One CTA per output row (b, h, i): weights each split's partial row by exp2(lse_s - max).
__global__ void combine_kernel(const AttentionParams p, const SplitArgs sa) {
  const int64_t row = blockIdx.x;
  const int i = int(row % p.seqlen_q), h = int((row / p.seqlen_q) % p.heads_q);
  const int b = int(row / (int64_t(p.seqlen_q) * p.heads_q));
  const int hk = h / (p.heads_q / p.heads_kv);
  const int64_t plane = int64_t(p.batch) * p.heads_q * p.seqlen_q;
  float mx = -INFINITY;
  for (int s = 0; s < sa.num_splits; ++s) mx = fmaxf(mx, sa.lse_partial[s * plane + row]);
  const int64_t oe = b * p.o.batch_stride + int64_t(i) * p.o.seq_stride + h * p.o.head_stride;
  float wsum = 0.f;
  for (int s = 0; s < sa.num_splits; ++s) wsum += exp2f(sa.lse_partial[s * plane + row] - mx);  // 0 if all -inf
  if (mx == -INFINITY) {
    const SeqInfo si = seq_info(p, b);
    for (int d = threadIdx.x; d < p.head_dim_v; d += blockDim.x) store_one(p, oe + d, masked_row_value(p, si, b, hk, d));
  } else {
    const float scale = v_descale_of(p, b, hk) / wsum;
    for (int d = threadIdx.x; d < p.head_dim_v; d += blockDim.x) {
      float acc = 0.f;
      for (int s = 0; s < sa.num_splits; ++s) {
        const float w = exp2f(sa.lse_partial[s * plane + row] - mx);
        if (w > 0.f) acc += w * sa.o_partial[(s * plane + row) * p.head_dim_v + d];
      }
      store_one(p, oe + d, acc * scale);
    }
  }
  if (threadIdx.x == 0 && p.lse != nullptr)
    p.lse[b * p.lse_batch_stride + h * p.lse_head_stride + int64_t(i) * p.lse_seq_stride] =
        mx == -INFINITY ? -INFINITY : (mx + log2f(wsum)) * 0.6931471805599453f;
}

// One CTA per (b, t, hk): copies the new key and value rows into the cache, byte by byte (decode
// appends are a few KB; the copy never dominates).
__global__ void append_kv_kernel(const KVAppendParams a, int elem_bytes) {
  const int hk = blockIdx.x % a.heads_kv, t = (blockIdx.x / a.heads_kv) % a.new_tokens;
  const int b = blockIdx.x / (a.heads_kv * a.new_tokens);
  const int pos = max(a.cache_seqlens[b], 0) + t;
  auto dst_row = [&](const MutableTensorView& c) -> int64_t {
    if (a.block_table != nullptr) {
      const int blk = max(a.block_table[b * a.block_table_batch_stride + pos / a.block_size], 0);
      return blk * c.batch_stride + int64_t(pos % a.block_size) * c.seq_stride + hk * c.head_stride;
    }
    return b * c.batch_stride + int64_t(pos) * c.seq_stride + hk * c.head_stride;
  };
  const int64_t kd = dst_row(a.k_cache), vd = dst_row(a.v_cache);
  const int64_t ks = b * a.k_new.batch_stride + int64_t(t) * a.k_new.seq_stride + hk * a.k_new.head_stride;
  const int64_t vs = b * a.v_new.batch_stride + int64_t(t) * a.v_new.seq_stride + hk * a.v_new.head_stride;
  const char* ksrc = static_cast<const char*>(a.k_new.data);
  const char* vsrc = static_cast<const char*>(a.v_new.data);
  char* kdst = static_cast<char*>(a.k_cache.data);
  char* vdst = static_cast<char*>(a.v_cache.data);
  for (int x = threadIdx.x; x < a.head_dim * elem_bytes; x += blockDim.x) kdst[kd * elem_bytes + x] = ksrc[ks * elem_bytes + x];
  for (int x = threadIdx.x; x < a.head_dim_v * elem_bytes; x += blockDim.x) vdst[vd * elem_bytes + x] = vsrc[vs * elem_bytes + x];
}

}  // namespace

cudaError_t launch_combine(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  const int64_t rows = int64_t(p.batch) * p.heads_q * p.seqlen_q;
  combine_kernel<<<dim3(unsigned(rows)), 128, 0, stream>>>(p, sa);
  return cudaGetLastError();
}

cudaError_t launch_append_kv(const KVAppendParams& a, cudaStream_t stream) {
  const int elem_bytes = a.dtype == DType::kFloat32 ? 4 : (a.dtype == DType::kFloat8E4M3 ? 1 : 2);
  const int64_t blocks = int64_t(a.batch) * a.new_tokens * a.heads_kv;
  if (blocks == 0) return cudaSuccess;
  append_kv_kernel<<<dim3(unsigned(blocks)), 128, 0, stream>>>(a, elem_bytes);
  return cudaGetLastError();
}

}  // namespace fa_onnx::cuda
