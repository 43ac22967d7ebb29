// The one ONNX Runtime this process uses: loaded with dlopen from the path the JS side resolves,
// its C API table, and the process-wide OrtEnv.
#pragma once

#include <onnxruntime_c_api.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace fa_onnx_addon {

struct Runtime {
  std::string library_path;
  std::string version;       // OrtApiBase::GetVersionString, e.g. "1.30.0"
  const OrtApi* api = nullptr;
  OrtEnv* env = nullptr;
  std::vector<std::string> providers;  // GetAvailableProviders, e.g. "CUDAExecutionProvider"
};

// Loads the runtime on first call; later calls must name the same library (one runtime per process)
// and return the same Runtime. Throws std::runtime_error with a readable message.
const Runtime& InitRuntime(const std::string& library_path);

// The runtime loaded by InitRuntime; throws when it was never called.
const Runtime& GetRuntime();

// An error raised from an OrtStatus; carries ORT's message unchanged.
class OrtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws OrtError with ORT's message when status is not null (and releases it).
void ThrowOnError(OrtStatus* status);

// Throws OrtError whose message is `context: <ORT's message>`.
void ThrowOnError(OrtStatus* status, const std::string& context);

}  // namespace fa_onnx_addon
