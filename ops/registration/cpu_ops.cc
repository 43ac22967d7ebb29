// The CPU provider's compute: validate, maintain the KV cache, run the kernel on ONNX Runtime's
// intra-op thread pool.
#include <cstring>

#include "cpu/cpu_attention.h"
#include "kernel.h"
#include "validate.h"

namespace fa_onnx::reg {
namespace {

void OrtParallelFor(void* pool, void (*fn)(void*, size_t), size_t total, void* data) {
  const OrtKernelContext* context = static_cast<const OrtKernelContext*>(pool);
  // num_batch 0: ONNX Runtime splits the items over its threads as it sees fit.
  Ort::ThrowOnError(Api().KernelContext_ParallelFor(context, fn, total, 0, data));
}

}  // namespace

OrtStatus* ComputeCpu(const Kernel& kernel, OrtKernelContext* context) {
  ValidatedCall call;
  std::string error = Validate(kernel, context, /*host_values=*/true, &call);
  if (!error.empty()) return ToStatus(error);
  for (const auto& copy : call.cache_copies) std::memcpy(copy.dst, copy.src, copy.bytes);
  if (call.append) {
    error = cpu::AppendKV(call.append_params);
    if (!error.empty()) return ToStatus(std::string(OpName(kernel.kind)) + ": " + error, ORT_FAIL);
  }
  cpu::ParallelFor parallel_for{&OrtParallelFor, context};
  error = cpu::Run(call.params, parallel_for);
  if (!error.empty()) return ToStatus(std::string(OpName(kernel.kind)) + ": " + error, ORT_FAIL);
  return nullptr;
}

}  // namespace fa_onnx::reg
