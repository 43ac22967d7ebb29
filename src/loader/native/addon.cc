// Entry point of fa_onnx_addon.node: init(ortLibraryPath) loads ONNX Runtime once per process;
// Session is the native session class (session.h).
#include <napi.h>

#include "ort_runtime.h"
#include "session.h"

namespace fa_onnx_addon {
namespace {

// init(ortLibraryPath): {version, apiVersion, libraryPath, providers}
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "fa-onnx: init() needs the path of libonnxruntime.so.1");
  const Runtime* runtime = nullptr;
  try {
    runtime = &InitRuntime(info[0].As<Napi::String>().Utf8Value());
  } catch (const std::exception& error) {
    throw Napi::Error::New(env, error.what());
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("version", runtime->version);
  result.Set("apiVersion", Napi::Number::New(env, ORT_API_VERSION));
  result.Set("libraryPath", runtime->library_path);
  Napi::Array providers = Napi::Array::New(env, runtime->providers.size());
  for (size_t i = 0; i < runtime->providers.size(); ++i) providers.Set(static_cast<uint32_t>(i), runtime->providers[i]);
  result.Set("providers", providers);
  return result;
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("Session", Session::Define(env));
  return exports;
}

}  // namespace
}  // namespace fa_onnx_addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return fa_onnx_addon::Module(env, exports); }

NODE_API_MODULE(fa_onnx_addon, InitModule)
