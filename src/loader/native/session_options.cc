#include "session_options.h"

#include <algorithm>
#include <memory>

namespace fa_onnx_addon {
namespace {

int OptionalInt(const Napi::Object& object, const char* key, int fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return fallback;
  return value.As<Napi::Number>().Int32Value();
}

std::string OptionalString(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return {};
  return value.As<Napi::String>().Utf8Value();
}

struct SessionOptionsDeleter {
  const OrtApi* api;
  void operator()(OrtSessionOptions* options) const { api->ReleaseSessionOptions(options); }
};

void AppendCuda(const Runtime& runtime, OrtSessionOptions* options, const ProviderConfig& provider) {
  const OrtApi* api = runtime.api;
  const bool listed = std::find(runtime.providers.begin(), runtime.providers.end(), "CUDAExecutionProvider") !=
                      runtime.providers.end();
  const std::string where = "ONNX Runtime " + runtime.version + " at " + runtime.library_path;
  if (!listed) {
    throw std::runtime_error("fa-onnx: the CUDA execution provider is not available in " + where +
                             "; set FA_ONNX_ORT_LIBRARY to a libonnxruntime.so.1 built with CUDA");
  }
  // Every step can fail when the runtime's CUDA provider library (or CUDA itself) cannot load.
  const std::string context = "fa-onnx: cannot use the CUDA execution provider of " + where +
                              " (FA_ONNX_ORT_LIBRARY can name a runtime with a working CUDA provider)";
  OrtCUDAProviderOptionsV2* cuda = nullptr;
  ThrowOnError(api->CreateCUDAProviderOptions(&cuda), context);
  std::unique_ptr<OrtCUDAProviderOptionsV2, void (*)(OrtCUDAProviderOptionsV2*)> guard(cuda,
                                                                                       api->ReleaseCUDAProviderOptions);
  const std::string device = std::to_string(provider.device_id);
  const char* keys[] = {"device_id"};
  const char* values[] = {device.c_str()};
  ThrowOnError(api->UpdateCUDAProviderOptions(cuda, keys, values, 1), context);
  ThrowOnError(api->SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda), context);
}

}  // namespace

SessionConfig ReadSessionConfig(const Napi::Object& object) {
  SessionConfig config;
  config.ops_library = OptionalString(object, "opsLibrary");
  config.graph_optimization_level = OptionalInt(object, "graphOptimizationLevel", -1);
  config.intra_op_threads = OptionalInt(object, "intraOpNumThreads", -1);
  config.inter_op_threads = OptionalInt(object, "interOpNumThreads", -1);
  config.execution_mode = OptionalInt(object, "executionMode", -1);
  config.enable_cpu_mem_arena = OptionalInt(object, "enableCpuMemArena", -1);
  config.enable_mem_pattern = OptionalInt(object, "enableMemPattern", -1);
  config.log_id = OptionalString(object, "logId");
  config.log_severity_level = OptionalInt(object, "logSeverityLevel", -1);
  config.optimized_model_file_path = OptionalString(object, "optimizedModelFilePath");
  config.profile_file_prefix = OptionalString(object, "profileFilePrefix");

  Napi::Value entries = object.Get("configEntries");
  if (entries.IsArray()) {
    Napi::Array array = entries.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Array pair = array.Get(i).As<Napi::Array>();
      config.config_entries.emplace_back(pair.Get(0u).As<Napi::String>().Utf8Value(),
                                         pair.Get(1u).As<Napi::String>().Utf8Value());
    }
  }
  Napi::Value dims = object.Get("freeDimensionOverrides");
  if (dims.IsArray()) {
    Napi::Array array = dims.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Array pair = array.Get(i).As<Napi::Array>();
      config.free_dimension_overrides.emplace_back(pair.Get(0u).As<Napi::String>().Utf8Value(),
                                                   pair.Get(1u).As<Napi::Number>().Int64Value());
    }
  }
  Napi::Value providers = object.Get("providers");
  if (providers.IsArray()) {
    Napi::Array array = providers.As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Object entry = array.Get(i).As<Napi::Object>();
      config.providers.push_back({OptionalString(entry, "name"), OptionalInt(entry, "deviceId", 0)});
    }
  }
  return config;
}

OrtSessionOptions* BuildSessionOptions(const Runtime& runtime, const SessionConfig& config) {
  const OrtApi* api = runtime.api;
  OrtSessionOptions* raw = nullptr;
  ThrowOnError(api->CreateSessionOptions(&raw));
  std::unique_ptr<OrtSessionOptions, SessionOptionsDeleter> options(raw, SessionOptionsDeleter{api});

  if (config.graph_optimization_level >= 0) {
    ThrowOnError(api->SetSessionGraphOptimizationLevel(
        options.get(), static_cast<GraphOptimizationLevel>(config.graph_optimization_level)));
  }
  if (config.intra_op_threads >= 0) ThrowOnError(api->SetIntraOpNumThreads(options.get(), config.intra_op_threads));
  if (config.inter_op_threads >= 0) ThrowOnError(api->SetInterOpNumThreads(options.get(), config.inter_op_threads));
  if (config.execution_mode >= 0) {
    ThrowOnError(api->SetSessionExecutionMode(options.get(), static_cast<ExecutionMode>(config.execution_mode)));
  }
  if (config.enable_cpu_mem_arena == 0) ThrowOnError(api->DisableCpuMemArena(options.get()));
  if (config.enable_cpu_mem_arena == 1) ThrowOnError(api->EnableCpuMemArena(options.get()));
  if (config.enable_mem_pattern == 0) ThrowOnError(api->DisableMemPattern(options.get()));
  if (config.enable_mem_pattern == 1) ThrowOnError(api->EnableMemPattern(options.get()));
  if (!config.log_id.empty()) ThrowOnError(api->SetSessionLogId(options.get(), config.log_id.c_str()));
  if (config.log_severity_level >= 0) {
    ThrowOnError(api->SetSessionLogSeverityLevel(options.get(), config.log_severity_level));
  }
  if (!config.optimized_model_file_path.empty()) {
    ThrowOnError(api->SetOptimizedModelFilePath(options.get(), config.optimized_model_file_path.c_str()));
  }
  if (!config.profile_file_prefix.empty()) {
    ThrowOnError(api->EnableProfiling(options.get(), config.profile_file_prefix.c_str()));
  }
  for (const auto& [key, value] : config.config_entries) {
    ThrowOnError(api->AddSessionConfigEntry(options.get(), key.c_str(), value.c_str()));
  }
  for (const auto& [name, value] : config.free_dimension_overrides) {
    ThrowOnError(api->AddFreeDimensionOverrideByName(options.get(), name.c_str(), value));
  }
  // Providers are tried in the order given; ORT's CPU provider is always there as the fallback.
  for (const ProviderConfig& provider : config.providers) {
    if (provider.name == "cuda") {
      AppendCuda(runtime, options.get(), provider);
    } else if (provider.name != "cpu") {
      throw std::runtime_error("fa-onnx: unsupported execution provider '" + provider.name + "'");
    }
  }
  if (!config.ops_library.empty()) {
    ThrowOnError(api->RegisterCustomOpsLibrary_V2(options.get(), config.ops_library.c_str()),
                 "fa-onnx: cannot register the ops library " + config.ops_library);
  }
  return options.release();
}

}  // namespace fa_onnx_addon
