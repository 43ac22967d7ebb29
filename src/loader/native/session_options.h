// Session settings: read from the plain object that src/loader/options.ts builds (on the JS thread),
// applied to an OrtSessionOptions later (on a worker thread, since loading libraries and providers
// can take a while).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ort_runtime.h"

namespace fa_onnx_addon {

struct ProviderConfig {
  std::string name;  // "cpu" or "cuda"
  int device_id = 0;
};

struct SessionConfig {
  std::string ops_library;  // registered with RegisterCustomOpsLibrary_V2; empty = none
  int graph_optimization_level = -1;  // GraphOptimizationLevel value, -1 = ORT's default
  int intra_op_threads = -1;
  int inter_op_threads = -1;
  int execution_mode = -1;  // ExecutionMode value
  int enable_cpu_mem_arena = -1;  // -1 unset, 0, 1
  int enable_mem_pattern = -1;
  std::string log_id;
  int log_severity_level = -1;
  std::string optimized_model_file_path;
  std::string profile_file_prefix;  // non-empty: profiling on, files named <prefix>_<date>.json
  std::vector<std::pair<std::string, std::string>> config_entries;
  std::vector<std::pair<std::string, int64_t>> free_dimension_overrides;
  std::vector<ProviderConfig> providers;
};

SessionConfig ReadSessionConfig(const Napi::Object& object);

// Creates the OrtSessionOptions (caller releases) or throws OrtError / std::runtime_error.
OrtSessionOptions* BuildSessionOptions(const Runtime& runtime, const SessionConfig& config);

}  // namespace fa_onnx_addon
