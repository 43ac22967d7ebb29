// Test-only C ABI over the Hopper kernel, so python (ctypes + torch) can drive it on the GPU machine
// without ONNX Runtime. Tensors are [batch, seq, heads, dim] views given by element strides.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "../params_layout.h"
#include "hopper_attention.h"

namespace {
// A bump allocator over one device buffer, reset for every call (calls are serialised on one
// stream in the tests), so that allocations within a call never overlap.
struct TestScratch : fa_onnx::Scratch {
  size_t used = 0;
  void* Allocate(size_t bytes) override {
    static char* buffer = nullptr;
    constexpr size_t kCapacity = size_t(256) << 20;
    if (buffer == nullptr && cudaMalloc(reinterpret_cast<void**>(&buffer), kCapacity) != cudaSuccess) return nullptr;
    const size_t start = (used + 255) & ~size_t(255);
    if (start + bytes > kCapacity) return nullptr;
    used = start + bytes;
    return buffer + start;
  }
};
}  // namespace

extern "C" int fa_hopper_run(int dtype, int batch, int heads_q, int heads_kv, int seqlen_q, int seqlen_k, int head_dim,
                             const void* q, const int64_t* q_strides, const void* k, const int64_t* k_strides,
                             const void* v, const int64_t* v_strides, void* o, const int64_t* o_strides, float* lse,
                             const int64_t* lse_strides, const int32_t* key_lengths, float scale, float softcap,
                             int window_left, int window_right, int bottom_right, const void* bias,
                             const int64_t* bias_strides, const void* mask, const int64_t* mask_strides,
                             const float* alibi_slopes, int64_t alibi_batch_stride, void* stream, char* err,
                             int err_len) {
  fa_onnx::AttentionParams p;
  p.dtype = dtype == 2 ? fa_onnx::DType::kBFloat16 : fa_onnx::DType::kFloat16;
  p.batch = batch;
  p.heads_q = heads_q;
  p.heads_kv = heads_kv;
  p.seqlen_q = seqlen_q;
  p.seqlen_k = seqlen_k;
  p.head_dim = p.head_dim_v = head_dim;
  p.q = {q, q_strides[0], q_strides[1], q_strides[2]};
  p.k = {k, k_strides[0], k_strides[1], k_strides[2]};
  p.v = {v, v_strides[0], v_strides[1], v_strides[2]};
  p.o = {o, o_strides[0], o_strides[1], o_strides[2]};
  p.lse = lse;
  if (lse != nullptr) {
    p.lse_batch_stride = lse_strides[0];
    p.lse_head_stride = lse_strides[1];
    p.lse_seq_stride = lse_strides[2];
  }
  p.key_lengths = key_lengths;
  p.scale = scale;
  p.softcap = softcap;
  p.window_left = window_left;
  p.window_right = window_right;
  p.bottom_right = bottom_right != 0;
  // bias (query dtype) and boolean mask, broadcast to [batch, heads_q, seqlen_q, seqlen_k] by strides
  p.alibi_slopes = alibi_slopes;  // [Hq] or [B, Hq]
  p.alibi_batch_stride = alibi_batch_stride;
  p.bias.data = bias;
  p.mask.data = mask;
  for (int i = 0; i < 4; ++i) {
    p.bias.stride[i] = bias != nullptr ? bias_strides[i] : 0;
    p.mask.stride[i] = mask != nullptr ? mask_strides[i] : 0;
  }
  TestScratch scratch;
  std::string msg = fa_onnx::cuda::hopper::Run(p, stream, scratch);
  if (msg.empty()) {
    msg = fa_onnx::cuda::hopper::Unsupported(p);  // reported, not an error: what the dispatch would say
    std::strncpy(err, msg.c_str(), err_len - 1);
    err[err_len - 1] = 0;
    return 0;
  }
  std::strncpy(err, msg.c_str(), err_len - 1);
  err[err_len - 1] = 0;
  return 1;
}

// The same kernel given a whole AttentionParams (test/gpu/fa.py's ctypes mirror): the varlen cases,
// whose offsets and token totals the argument list above does not carry. Returns as fa_hopper_run.
extern "C" int fa_hopper_run_params(const fa_onnx::AttentionParams* p, void* stream, char* err, int err_len) {
  TestScratch scratch;
  std::string msg = fa_onnx::cuda::hopper::Run(*p, stream, scratch);
  const int rc = msg.empty() ? 0 : 1;
  if (msg.empty()) msg = fa_onnx::cuda::hopper::Unsupported(*p);
  std::strncpy(err, msg.c_str(), err_len - 1);
  err[err_len - 1] = 0;
  return rc;
}

extern "C" int fa_params_layout(int64_t* out, int n) { return FillParamsLayout(out, n); }
