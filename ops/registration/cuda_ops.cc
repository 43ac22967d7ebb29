// The CUDA provider's compute: validate (shapes only: lengths and offsets stay on the device, and
// reading them would need a sync), ask the CUDA kernels whether they handle the call, maintain the
// KV cache and launch, all on ONNX Runtime's compute stream. Never synchronises.
#ifdef FA_ONNX_WITH_CUDA

#include <string>
#include <vector>

#include "fa_onnx/kernels.h"
#include "kernel.h"
#include "validate.h"

namespace fa_onnx::reg {
namespace {

// Scratch from ONNX Runtime's allocator for the inputs' device; released when the call returns
// (stream-ordered reuse by later kernels is safe: everything runs on the same stream). The allocator
// is fetched on the first request, since most calls need no scratch.
class OrtScratch final : public Scratch {
 public:
  OrtScratch(OrtKernelContext* context, const OrtMemoryInfo* memory_info)
      : context_(context), memory_info_(memory_info) {}
  ~OrtScratch() override {
    if (allocator_ == nullptr) return;
    for (void* p : blocks_) allocator_->Free(allocator_, p);
    Api().ReleaseAllocator(allocator_);
  }
  void* Allocate(size_t bytes) override {
    if (allocator_ == nullptr) {
      if (OrtStatus* status = Api().KernelContext_GetAllocator(context_, memory_info_, &allocator_)) {
        Api().ReleaseStatus(status);
        allocator_ = nullptr;
        return nullptr;  // callers report a failed allocation
      }
    }
    void* p = allocator_->Alloc(allocator_, bytes);
    if (p) blocks_.push_back(p);
    return p;
  }

 private:
  OrtKernelContext* context_;
  const OrtMemoryInfo* memory_info_;
  OrtAllocator* allocator_ = nullptr;
  std::vector<void*> blocks_;
};

}  // namespace

OrtStatus* ComputeCuda(const Kernel& kernel, OrtKernelContext* context) {
  const std::string op = OpName(kernel.kind);
  ValidatedCall call;
  std::string error = Validate(kernel, context, /*host_values=*/false, &call);
  if (!error.empty()) return ToStatus(error);

  int cc_major = 0, cc_minor = 0;
  error = cuda::DeviceCapability(&cc_major, &cc_minor);
  if (!error.empty()) return ToStatus(op + ": " + error, ORT_FAIL);
  error = cuda::Unsupported(call.params, cc_major, cc_minor);
  if (!error.empty()) return ToStatus(op + " on CUDA: " + error, ORT_NOT_IMPLEMENTED);

  void* stream = nullptr;
  Ort::ThrowOnError(Api().KernelContext_GetGPUComputeStream(context, &stream));
  for (const auto& copy : call.cache_copies) {
    error = cuda::CopyAsync(copy.dst, copy.src, copy.bytes, stream);
    if (!error.empty()) return ToStatus(op + ": " + error, ORT_FAIL);
  }
  if (call.append) {
    error = cuda::AppendKV(call.append_params, stream);
    if (!error.empty()) return ToStatus(op + ": " + error, ORT_FAIL);
  }
  const OrtValue* query = nullptr;
  Ort::ThrowOnError(Api().KernelContext_GetInput(context, 0, &query));
  const OrtMemoryInfo* memory_info = nullptr;
  Ort::ThrowOnError(Api().GetTensorMemoryInfo(query, &memory_info));
  OrtScratch scratch(context, memory_info);
  error = cuda::Run(call.params, stream, scratch);
  if (!error.empty()) return ToStatus(op + ": " + error, ORT_FAIL);
  return nullptr;
}

}  // namespace fa_onnx::reg

#endif  // FA_ONNX_WITH_CUDA
