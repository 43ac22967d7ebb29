// ONNX Runtime's C++ API, initialised by RegisterCustomOps (ORT_API_MANUAL_INIT), plus status helpers.
#pragma once

#include <string>

#include <onnxruntime_cxx_api.h>

namespace fa_onnx::reg {

// The OrtApi the library runs against (set once in RegisterCustomOps).
const OrtApi& Api();
void SetApi(const OrtApi* api);

// A failed OrtStatus carrying `message`, or nullptr when the message is empty.
inline OrtStatus* ToStatus(const std::string& message, OrtErrorCode code = ORT_INVALID_ARGUMENT) {
  if (message.empty()) return nullptr;
  return Api().CreateStatus(code, message.c_str());
}

}  // namespace fa_onnx::reg
