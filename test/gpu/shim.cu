// C-ABI test shim over the CUDA provider's entry points (fa_onnx/kernels.h), loaded by the GPU
// test and benchmark scripts with ctypes: no ONNX Runtime needed on the GPU machine.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "fa_onnx/attention_params.h"
#include "fa_onnx/kernels.h"
#include "params_layout.h"

namespace {

// Bump allocator over one device buffer, reset per call: scratch without per-call cudaMalloc,
// as ONNX Runtime's caching allocator behaves.
class BumpScratch : public fa_onnx::Scratch {
 public:
  void* Allocate(size_t bytes) override {
    if (base_ == nullptr && cudaMalloc(&base_, kCapacity) != cudaSuccess) return nullptr;
    const size_t at = (used_ + 255) / 256 * 256;
    if (at + bytes > kCapacity) return nullptr;
    used_ = at + bytes;
    return static_cast<char*>(base_) + at;
  }
  void Reset() { used_ = 0; }

 private:
  static constexpr size_t kCapacity = size_t(512) << 20;
  void* base_ = nullptr;
  size_t used_ = 0;
};

BumpScratch g_scratch;

int put(const std::string& msg, char* err, int len) {
  if (msg.empty()) return 0;
  std::snprintf(err, len, "%s", msg.c_str());
  return 1;
}

}  // namespace

extern "C" {

// Field offsets, so the Python side can check that its ctypes mirror matches this compiler's layout.
int fa_params_layout(int64_t* out, int n) { return FillParamsLayout(out, n); }

int fa_unsupported(const fa_onnx::AttentionParams* p, int major, int minor, char* err, int len) {
  return put(fa_onnx::cuda::Unsupported(*p, major, minor), err, len);
}

int fa_run(const fa_onnx::AttentionParams* p, void* stream, char* err, int len) {
  g_scratch.Reset();  // callers synchronise before reusing scratch across calls of different sizes
  return put(fa_onnx::cuda::Run(*p, stream, g_scratch), err, len);
}

int fa_append_kv(const fa_onnx::KVAppendParams* a, void* stream, char* err, int len) {
  return put(fa_onnx::cuda::AppendKV(*a, stream), err, len);
}

int fa_copy_async(void* dst, const void* src, size_t bytes, void* stream, char* err, int len) {
  return put(fa_onnx::cuda::CopyAsync(dst, src, bytes, stream), err, len);
}

int fa_device_capability(int* major, int* minor, char* err, int len) {
  return put(fa_onnx::cuda::DeviceCapability(major, minor), err, len);
}

}  // extern "C"
