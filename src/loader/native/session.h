// The native half of a session: ORT session creation and runs as napi async work, so neither
// blocks the event loop. src/loader/session-handler.ts wraps it as an onnxruntime-common handler.
#pragma once

#include <napi.h>

#include <memory>

#include "ort_runtime.h"

namespace fa_onnx_addon {

// Owns the OrtSession. Runs in flight share ownership, so release() during a run frees the
// session only once that run is over.
struct SessionHandle {
  OrtSession* session = nullptr;
  ~SessionHandle();
};

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Session(const Napi::CallbackInfo& info);

  void Adopt(std::shared_ptr<SessionHandle> handle) { handle_ = std::move(handle); }

 private:
  // load(modelPathOrBytes: string | Uint8Array, config: object): Promise<void>
  Napi::Value Load(const Napi::CallbackInfo& info);
  // metadata(): {inputs: Metadata[], outputs: Metadata[]}
  Napi::Value Metadata(const Napi::CallbackInfo& info);
  // run(feeds: {name, type, dims, data}[], fetches: {name, preallocated?}[], runOptions): Promise<(object | null)[]>
  Napi::Value Run(const Napi::CallbackInfo& info);
  // endProfiling(): string (the profile file ORT wrote)
  Napi::Value EndProfiling(const Napi::CallbackInfo& info);
  // release(): void
  Napi::Value Release(const Napi::CallbackInfo& info);

  std::shared_ptr<SessionHandle> Handle(Napi::Env env) const;

  std::shared_ptr<SessionHandle> handle_;
  bool loading_ = false;
};

}  // namespace fa_onnx_addon
