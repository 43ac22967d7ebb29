#include "session.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "session_options.h"
#include "tensor_io.h"

namespace fa_onnx_addon {
namespace {

// ONNX Runtime adds a custom op domain to a process-wide table the first time a session uses it,
// with a check-then-add that is not thread-safe: two sessions created at once (worker threads) can
// both add "fa_onnx" and the second fails with "domain already exist". So session creations are
// serialised until one has succeeded; after that the domain is known and they run in parallel.
std::mutex g_first_session_mutex;
std::atomic<bool> g_domain_known{false};

std::string Utf8(const Napi::Value& value) { return value.As<Napi::String>().Utf8Value(); }

// Creates the OrtSession on a worker thread: reading the model, registering the ops library,
// starting providers and optimizing the graph can all take a while.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, Session* owner, Napi::Object owner_object, SessionConfig config, std::string path,
             std::vector<uint8_t> bytes)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        owner_ref_(Napi::Persistent(owner_object)),
        config_(std::move(config)),
        path_(std::move(path)),
        bytes_(std::move(bytes)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      const Runtime& runtime = GetRuntime();
      OrtSessionOptions* options = BuildSessionOptions(runtime, config_);
      OrtSession* session = nullptr;
      std::unique_lock<std::mutex> first(g_first_session_mutex, std::defer_lock);
      if (!g_domain_known.load()) first.lock();
      OrtStatus* status = path_.empty()
                              ? runtime.api->CreateSessionFromArray(runtime.env, bytes_.data(), bytes_.size(), options,
                                                                    &session)
                              : runtime.api->CreateSession(runtime.env, path_.c_str(), options, &session);
      runtime.api->ReleaseSessionOptions(options);
      if (status == nullptr) g_domain_known.store(true);
      if (first.owns_lock()) first.unlock();
      ThrowOnError(status);
      handle_ = std::make_shared<SessionHandle>();
      handle_->session = session;
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }

  void OnOK() override {
    owner_->Adopt(std::move(handle_));
    deferred_.Resolve(Env().Undefined());
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Session* owner_;
  Napi::ObjectReference owner_ref_;  // keeps the JS object (and so owner_) alive until we finish
  SessionConfig config_;
  std::string path_;
  std::vector<uint8_t> bytes_;
  std::shared_ptr<SessionHandle> handle_;
};

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<SessionHandle> handle)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), handle_(std::move(handle)) {}

  ~RunWorker() override {
    const OrtApi* api = GetRuntime().api;
    for (BorrowedTensor& input : inputs_) {
      if (input.value != nullptr) api->ReleaseValue(input.value);
    }
    for (OrtValue* output : outputs_) {
      if (output != nullptr) api->ReleaseValue(output);
    }
    if (run_options_ != nullptr) api->ReleaseRunOptions(run_options_);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Everything touching JS values happens here, on the JS thread, before the work is queued.
  void Prepare(const Napi::Array& feeds, const Napi::Array& fetches, const Napi::Object& run_options) {
    Napi::Env env = Env();
    const OrtApi* api = GetRuntime().api;
    for (uint32_t i = 0; i < feeds.Length(); ++i) {
      Napi::Object feed = feeds.Get(i).As<Napi::Object>();
      input_names_.push_back(Utf8(feed.Get("name")));
      inputs_.push_back(WrapTensor(env, feed, "input '" + input_names_.back() + "'"));
    }
    for (uint32_t i = 0; i < fetches.Length(); ++i) {
      Napi::Object fetch = fetches.Get(i).As<Napi::Object>();
      output_names_.push_back(Utf8(fetch.Get("name")));
      Napi::Value preallocated = fetch.Get("preallocated");
      if (preallocated.IsObject()) {
        BorrowedTensor tensor = WrapTensor(env, preallocated.As<Napi::Object>(), "output '" + output_names_.back() + "'");
        outputs_.push_back(tensor.value);
        preallocated_.push_back(true);
        output_keep_alive_.push_back(std::move(tensor.keep_alive));
      } else {
        outputs_.push_back(nullptr);
        preallocated_.push_back(false);
      }
    }
    ThrowOnError(api->CreateRunOptions(&run_options_));
    Napi::Value level = run_options.Get("logSeverityLevel");
    if (level.IsNumber()) ThrowOnError(api->RunOptionsSetRunLogSeverityLevel(run_options_, level.As<Napi::Number>().Int32Value()));
    Napi::Value tag = run_options.Get("tag");
    if (tag.IsString()) ThrowOnError(api->RunOptionsSetRunTag(run_options_, Utf8(tag).c_str()));
  }

  void Execute() override {
    const OrtApi* api = GetRuntime().api;
    std::vector<const char*> input_names;
    std::vector<const OrtValue*> inputs;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      input_names.push_back(input_names_[i].c_str());
      inputs.push_back(inputs_[i].value);
    }
    std::vector<const char*> output_names;
    for (const std::string& name : output_names_) output_names.push_back(name.c_str());
    OrtStatus* status = api->Run(handle_->session, run_options_, input_names.data(), inputs.data(), inputs.size(),
                                 output_names.data(), output_names.size(), outputs_.data());
    if (status != nullptr) {
      SetError(api->GetErrorMessage(status));
      api->ReleaseStatus(status);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      Napi::Array results = Napi::Array::New(env, outputs_.size());
      for (size_t i = 0; i < outputs_.size(); ++i) {
        // A pre-allocated output was written in place: JS returns the caller's tensor.
        results.Set(static_cast<uint32_t>(i),
                    preallocated_[i] ? env.Null() : ReadTensor(env, outputs_[i], "output '" + output_names_[i] + "'"));
      }
      deferred_.Resolve(results);
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SessionHandle> handle_;
  std::vector<std::string> input_names_;
  std::vector<BorrowedTensor> inputs_;
  std::vector<std::string> output_names_;
  std::vector<OrtValue*> outputs_;
  std::vector<bool> preallocated_;
  std::vector<Napi::Reference<Napi::Value>> output_keep_alive_;
  OrtRunOptions* run_options_ = nullptr;
};

Napi::Array DescribeValues(Napi::Env env, OrtSession* session, bool inputs) {
  const OrtApi* api = GetRuntime().api;
  OrtAllocator* allocator = nullptr;
  ThrowOnError(api->GetAllocatorWithDefaultOptions(&allocator));
  size_t count = 0;
  ThrowOnError(inputs ? api->SessionGetInputCount(session, &count) : api->SessionGetOutputCount(session, &count));
  Napi::Array result = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; ++i) {
    char* name = nullptr;
    ThrowOnError(inputs ? api->SessionGetInputName(session, i, allocator, &name)
                        : api->SessionGetOutputName(session, i, allocator, &name));
    std::string owned_name(name);
    allocator->Free(allocator, name);
    OrtTypeInfo* info = nullptr;
    ThrowOnError(inputs ? api->SessionGetInputTypeInfo(session, i, &info)
                        : api->SessionGetOutputTypeInfo(session, i, &info));
    Napi::Object entry;
    try {
      entry = DescribeType(env, info);
    } catch (...) {
      api->ReleaseTypeInfo(info);
      throw;
    }
    api->ReleaseTypeInfo(info);
    entry.Set("name", owned_name);
    result.Set(static_cast<uint32_t>(i), entry);
  }
  return result;
}

}  // namespace

SessionHandle::~SessionHandle() {
  if (session != nullptr) GetRuntime().api->ReleaseSession(session);
}

Napi::Function Session::Define(Napi::Env env) {
  return DefineClass(env, "Session",
                     {InstanceMethod<&Session::Load>("load"), InstanceMethod<&Session::Metadata>("metadata"),
                      InstanceMethod<&Session::Run>("run"), InstanceMethod<&Session::EndProfiling>("endProfiling"),
                      InstanceMethod<&Session::Release>("release")});
}

Session::Session(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Session>(info) {}

std::shared_ptr<SessionHandle> Session::Handle(Napi::Env env) const {
  if (!handle_) throw Napi::Error::New(env, "fa-onnx: the session is not loaded or was released");
  return handle_;
}

Napi::Value Session::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ || loading_) throw Napi::Error::New(env, "fa-onnx: load() may be called once per session");
  GetRuntime();  // throws when init() was not called
  std::string path;
  std::vector<uint8_t> bytes;
  if (info[0].IsString()) {
    path = Utf8(info[0]);
  } else if (info[0].IsTypedArray()) {
    // A copy: the caller may reuse the buffer while the worker thread parses it.
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    const uint8_t* begin = static_cast<const uint8_t*>(TypedArrayData(env, array));
    bytes.assign(begin, begin + array.ByteLength());
  } else {
    throw Napi::TypeError::New(env, "fa-onnx: the model must be a path or a Uint8Array");
  }
  SessionConfig config = ReadSessionConfig(info[1].As<Napi::Object>());
  loading_ = true;
  auto* worker = new LoadWorker(env, this, info.This().As<Napi::Object>(), std::move(config), std::move(path),
                                std::move(bytes));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Session::Metadata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SessionHandle> handle = Handle(env);
  Napi::Object result = Napi::Object::New(env);
  try {
    result.Set("inputs", DescribeValues(env, handle->session, true));
    result.Set("outputs", DescribeValues(env, handle->session, false));
  } catch (const OrtError& error) {
    throw Napi::Error::New(env, error.what());
  }
  return result;
}

Napi::Value Session::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker = new RunWorker(env, Handle(env));
  try {
    worker->Prepare(info[0].As<Napi::Array>(), info[1].As<Napi::Array>(),
                    info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env));
  } catch (const Napi::Error&) {
    delete worker;
    throw;
  } catch (const std::exception& error) {
    delete worker;
    throw Napi::Error::New(env, error.what());
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Session::EndProfiling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<SessionHandle> handle = Handle(env);
  const OrtApi* api = GetRuntime().api;
  OrtAllocator* allocator = nullptr;
  ThrowOnError(api->GetAllocatorWithDefaultOptions(&allocator));
  char* file = nullptr;
  ThrowOnError(api->SessionEndProfiling(handle->session, allocator, &file));
  std::string owned(file != nullptr ? file : "");
  if (file != nullptr) allocator->Free(allocator, file);
  return Napi::String::New(env, owned);
}

Napi::Value Session::Release(const Napi::CallbackInfo& info) {
  handle_.reset();
  return info.Env().Undefined();
}

}  // namespace fa_onnx_addon
