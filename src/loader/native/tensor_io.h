// Moving tensors between JS and OrtValues. JS hands over {type, dims, data} where type is an
// ONNXTensorElementDataType value (src/loader/element-types.ts maps the names) and data a typed
// array (numeric types, viewed in place: no copy) or an array of strings.
#pragma once

#include <napi.h>

#include <vector>

#include "ort_runtime.h"

namespace fa_onnx_addon {

// An OrtValue over JS memory, with a reference that keeps that memory alive until released.
struct BorrowedTensor {
  OrtValue* value = nullptr;
  Napi::Reference<Napi::Value> keep_alive;
};

// The address of a typed array's first element (ArrayBuffer or SharedArrayBuffer backed).
void* TypedArrayData(Napi::Env env, const Napi::TypedArray& array);

// Wraps a JS tensor description as an OrtValue. Numeric data is used in place, so ORT reads the
// caller's inputs and writes pre-allocated outputs straight into the caller's typed arrays.
// `what` names the tensor in error messages. Throws Napi::Error.
BorrowedTensor WrapTensor(Napi::Env env, const Napi::Object& tensor, const std::string& what);

// Copies an ORT-allocated output into a new JS object {type, dims, data}: data is an ArrayBuffer
// (numeric) or an array of strings.
Napi::Value ReadTensor(Napi::Env env, const OrtValue* value, const std::string& what);

// Shape info of a type, as {isTensor, type, shape (-1 = unknown), symbolicDimensions}.
Napi::Object DescribeType(Napi::Env env, const OrtTypeInfo* info);

}  // namespace fa_onnx_addon
