#include "ort_runtime.h"

#include <dlfcn.h>

#include <mutex>

namespace fa_onnx_addon {
namespace {

std::mutex g_mutex;
Runtime* g_runtime = nullptr;  // lives as long as the process: ORT must outlive every session

using GetApiBaseFn = const OrtApiBase* (*)();

}  // namespace

void ThrowOnError(OrtStatus* status) {
  if (status == nullptr) return;
  const OrtApi* api = GetRuntime().api;
  std::string message = api->GetErrorMessage(status);
  api->ReleaseStatus(status);
  throw OrtError(message);
}

void ThrowOnError(OrtStatus* status, const std::string& context) {
  if (status == nullptr) return;
  const OrtApi* api = GetRuntime().api;
  std::string message = context + ": " + api->GetErrorMessage(status);
  api->ReleaseStatus(status);
  throw OrtError(message);
}

const Runtime& GetRuntime() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime == nullptr) throw std::runtime_error("fa-onnx: ONNX Runtime is not loaded yet");
  return *g_runtime;
}

const Runtime& InitRuntime(const std::string& library_path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime != nullptr) {
    if (g_runtime->library_path != library_path) {
      throw std::runtime_error("fa-onnx: ONNX Runtime is already loaded from " + g_runtime->library_path +
                               "; a process can use only one runtime (asked for " + library_path + ")");
    }
    return *g_runtime;
  }

  // RTLD_LOCAL: onnxruntime-node's binding loads the same file by the same path, and the dynamic
  // loader hands both of us the one copy already mapped, so there is a single runtime.
  void* handle = dlopen(library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw std::runtime_error("fa-onnx: cannot load ONNX Runtime from " + library_path + ": " +
                             (why != nullptr ? why : "unknown dlopen error"));
  }
  auto get_api_base = reinterpret_cast<GetApiBaseFn>(dlsym(handle, "OrtGetApiBase"));
  if (get_api_base == nullptr) {
    throw std::runtime_error("fa-onnx: " + library_path + " is not an ONNX Runtime library (no OrtGetApiBase)");
  }
  const OrtApiBase* base = get_api_base();
  // The C API only grows, so the version our headers define is all we need from a newer runtime.
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  if (api == nullptr) {
    throw std::runtime_error(std::string("fa-onnx: ONNX Runtime ") + base->GetVersionString() + " at " +
                             library_path + " does not provide C API version " +
                             std::to_string(ORT_API_VERSION) + " (ONNX Runtime 1." +
                             std::to_string(ORT_API_VERSION) + " or later is needed)");
  }

  auto* runtime = new Runtime();
  runtime->library_path = library_path;
  runtime->version = base->GetVersionString();
  runtime->api = api;

  // ORT keeps one environment per process: if onnxruntime-node created it first we share it
  // (and its logging level); otherwise ours is the one onnxruntime-node will share.
  OrtStatus* status = api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "fa-onnx", &runtime->env);
  if (status != nullptr) {
    std::string message = api->GetErrorMessage(status);
    api->ReleaseStatus(status);
    delete runtime;
    throw std::runtime_error("fa-onnx: CreateEnv failed: " + message);
  }

  char** providers = nullptr;
  int count = 0;
  status = api->GetAvailableProviders(&providers, &count);
  if (status == nullptr) {
    for (int i = 0; i < count; ++i) runtime->providers.emplace_back(providers[i]);
    OrtStatus* released = api->ReleaseAvailableProviders(providers, count);
    if (released != nullptr) api->ReleaseStatus(released);
  } else {
    api->ReleaseStatus(status);
  }

  g_runtime = runtime;
  return *g_runtime;
}

}  // namespace fa_onnx_addon
