// The library entry point: RegisterCustomOps, the one exported symbol. It binds the C++ API to the
// runtime that loads us and adds the fa_onnx domain with every (op, type, provider) registration.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "op_schema.h"
#include "ort_api.h"
#include "shape_inference.h"

namespace fa_onnx::reg {
namespace {

const OrtApi* g_api = nullptr;

constexpr int kMinApiVersion = 23;  // the headers we build against (ONNX Runtime 1.23)

// ONNX Runtime 1.x offers C API version x (the minor version); parse it from the version string.
int RuntimeApiVersion(const OrtApiBase* base) {
  const char* version = base->GetVersionString();
  int major = 0, minor = 0;
  if (!version || std::sscanf(version, "%d.%d", &major, &minor) != 2 || major != 1) return -1;
  return minor;
}

struct Registry {
  std::vector<std::unique_ptr<FaCustomOp>> ops;
};

// The ops and domain live as long as the process: ONNX Runtime keeps pointers to them in every
// session that registered the library.
// `runtime_version`: the C API version of the runtime (one per process), which decides whether the
// ops register shape inference.
Registry& Ops(int runtime_version) {
  static Registry* registry = [runtime_version] {
    const bool infer_shapes = runtime_version >= kMinShapeInferenceApiVersion;
    auto* r = new Registry;
    const OpKind kinds[] = {OpKind::kDense, OpKind::kVarlen, OpKind::kKVCache};
    const ONNXTensorElementDataType types[] = {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16,
                                               ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16};
    std::vector<Provider> providers = {Provider::kCpu};
#ifdef FA_ONNX_WITH_CUDA
    providers.push_back(Provider::kCuda);
#endif
    for (Provider provider : providers) {
      for (OpKind kind : kinds) {
        for (auto t : types) r->ops.push_back(std::make_unique<FaCustomOp>(kind, provider, t, infer_shapes));
      }
      r->ops.push_back(std::make_unique<FaCustomOp>(OpKind::kFp8, provider, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN, infer_shapes));
    }
    return r;
  }();
  return *registry;
}

}  // namespace

const OrtApi& Api() { return *g_api; }
void SetApi(const OrtApi* api) { g_api = api; }

}  // namespace fa_onnx::reg

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL
RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  using namespace fa_onnx::reg;
  const int runtime_version = RuntimeApiVersion(api_base);
  const OrtApi* api = runtime_version >= kMinApiVersion ? api_base->GetApi(runtime_version) : nullptr;
  if (!api) {
    // Version 1 of the API exists in every runtime and is enough to report the problem.
    const OrtApi* v1 = api_base->GetApi(1);
    const std::string message = std::string("fa_onnx: ONNX Runtime ") + api_base->GetVersionString() +
                                " is too old; the fa-onnx ops need ONNX Runtime 1.23 (C API version 23) or later";
    return v1 ? v1->CreateStatus(ORT_FAIL, message.c_str()) : nullptr;
  }
  SetApi(api);
  Ort::InitApi(api);
  try {
    // Each call (one per session) creates its own domain object; the session options keep it alive.
    OrtCustomOpDomain* domain = nullptr;
    Ort::ThrowOnError(api->CreateCustomOpDomain("fa_onnx", &domain));
    for (const auto& op : Ops(runtime_version).ops) Ort::ThrowOnError(api->CustomOpDomain_Add(domain, op.get()));
    Ort::ThrowOnError(api->AddCustomOpDomain(options, domain));
    return nullptr;
  } catch (const Ort::Exception& e) {
    return api->CreateStatus(ORT_FAIL, (std::string("fa_onnx: registering the ops failed: ") + e.what()).c_str());
  }
}
