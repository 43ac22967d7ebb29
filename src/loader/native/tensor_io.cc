#include "tensor_io.h"

#include <cstring>
#include <string>

namespace fa_onnx_addon {
namespace {

// Bytes per element of the fixed-size types a JS typed array can carry; 0 for the rest.
size_t ElementSize(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ:
      return 1;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
      return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      return 8;
    default:
      return 0;
  }
}

const OrtApi* Api() { return GetRuntime().api; }

// Runs an ORT call, turning a failure into a JS error (we are on the JS thread here).
void Check(Napi::Env env, OrtStatus* status, const std::string& context) {
  if (status == nullptr) return;
  std::string message = context + ": " + Api()->GetErrorMessage(status);
  Api()->ReleaseStatus(status);
  throw Napi::Error::New(env, message);
}

OrtMemoryInfo* CpuMemoryInfo() {
  static OrtMemoryInfo* info = [] {
    OrtMemoryInfo* created = nullptr;
    ThrowOnError(Api()->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &created));
    return created;
  }();
  return info;
}

OrtAllocator* DefaultAllocator() {
  OrtAllocator* allocator = nullptr;
  ThrowOnError(Api()->GetAllocatorWithDefaultOptions(&allocator));
  return allocator;
}

}  // namespace

void* TypedArrayData(Napi::Env env, const Napi::TypedArray& array) {
  // napi_get_typedarray_info gives the first element's address for ArrayBuffer and SharedArrayBuffer
  // backed arrays alike, and moves a small on-heap array's bytes off the V8 heap first, so the
  // pointer stays valid while a reference keeps the array alive (runs happen on another thread).
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok) {
    throw Napi::Error::New(env, "fa-onnx: cannot read a typed array's memory");
  }
  return data;
}

BorrowedTensor WrapTensor(Napi::Env env, const Napi::Object& tensor, const std::string& what) {
  const auto type = static_cast<ONNXTensorElementDataType>(tensor.Get("type").As<Napi::Number>().Int32Value());
  Napi::Array dims_array = tensor.Get("dims").As<Napi::Array>();
  std::vector<int64_t> dims(dims_array.Length());
  size_t count = 1;
  for (uint32_t i = 0; i < dims_array.Length(); ++i) {
    dims[i] = dims_array.Get(i).As<Napi::Number>().Int64Value();
    if (dims[i] < 0) throw Napi::Error::New(env, "fa-onnx: " + what + " has a negative dimension");
    count *= static_cast<size_t>(dims[i]);
  }
  Napi::Value data = tensor.Get("data");
  BorrowedTensor out;

  if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING) {
    if (!data.IsArray()) throw Napi::Error::New(env, "fa-onnx: " + what + ": string tensor data must be an array");
    Napi::Array strings = data.As<Napi::Array>();
    if (strings.Length() != count) {
      throw Napi::Error::New(env, "fa-onnx: " + what + " has " + std::to_string(strings.Length()) +
                                      " strings for a shape of " + std::to_string(count) + " elements");
    }
    std::vector<std::string> owned(count);
    std::vector<const char*> pointers(count);
    for (size_t i = 0; i < count; ++i) {
      owned[i] = strings.Get(static_cast<uint32_t>(i)).ToString().Utf8Value();
      pointers[i] = owned[i].c_str();
    }
    Check(env, Api()->CreateTensorAsOrtValue(DefaultAllocator(), dims.data(), dims.size(), type, &out.value), what);
    OrtStatus* status = Api()->FillStringTensor(out.value, pointers.data(), pointers.size());
    if (status != nullptr) {
      Api()->ReleaseValue(out.value);
      Check(env, status, what);
    }
    return out;  // ORT holds its own copy of the strings
  }

  const size_t element_size = ElementSize(type);
  if (element_size == 0) {
    throw Napi::Error::New(env, "fa-onnx: " + what + ": element type " + std::to_string(type) + " is not supported");
  }
  if (!data.IsTypedArray()) throw Napi::Error::New(env, "fa-onnx: " + what + ": data must be a typed array");
  Napi::TypedArray array = data.As<Napi::TypedArray>();
  const size_t byte_length = array.ByteLength();
  void* bytes = TypedArrayData(env, array);
  if (byte_length != count * element_size) {
    throw Napi::Error::New(env, "fa-onnx: " + what + " holds " + std::to_string(byte_length) + " bytes; its shape needs " +
                                    std::to_string(count * element_size));
  }
  if (count == 0) {
    // No bytes to point at (an empty typed array may have no backing store): let ORT allocate.
    Check(env, Api()->CreateTensorAsOrtValue(DefaultAllocator(), dims.data(), dims.size(), type, &out.value), what);
    return out;
  }
  Check(env,
        Api()->CreateTensorWithDataAsOrtValue(CpuMemoryInfo(), bytes, byte_length, dims.data(), dims.size(), type,
                                              &out.value),
        what);
  out.keep_alive = Napi::Persistent(data);
  return out;
}

Napi::Value ReadTensor(Napi::Env env, const OrtValue* value, const std::string& what) {
  const OrtApi* api = Api();
  int is_tensor = 0;
  Check(env, api->IsTensor(value, &is_tensor), what);
  if (!is_tensor) throw Napi::Error::New(env, "fa-onnx: " + what + " is not a tensor (sequences and maps are not supported)");

  OrtTensorTypeAndShapeInfo* info = nullptr;
  Check(env, api->GetTensorTypeAndShape(value, &info), what);
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  size_t rank = 0;
  size_t count = 0;
  OrtStatus* status = api->GetTensorElementType(info, &type);
  if (status == nullptr) status = api->GetDimensionsCount(info, &rank);
  std::vector<int64_t> dims(rank);
  if (status == nullptr) status = api->GetDimensions(info, dims.data(), rank);
  if (status == nullptr) status = api->GetTensorShapeElementCount(info, &count);
  api->ReleaseTensorTypeAndShapeInfo(info);
  Check(env, status, what);

  Napi::Object result = Napi::Object::New(env);
  result.Set("type", Napi::Number::New(env, type));
  Napi::Array js_dims = Napi::Array::New(env, rank);
  for (size_t i = 0; i < rank; ++i) js_dims.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(dims[i])));
  result.Set("dims", js_dims);

  if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING) {
    size_t total = 0;
    Check(env, api->GetStringTensorDataLength(value, &total), what);
    std::string content(total, '\0');
    std::vector<size_t> offsets(count);
    if (count > 0) Check(env, api->GetStringTensorContent(value, content.data(), total, offsets.data(), count), what);
    Napi::Array strings = Napi::Array::New(env, count);
    for (size_t i = 0; i < count; ++i) {
      const size_t end = i + 1 < count ? offsets[i + 1] : total;
      strings.Set(static_cast<uint32_t>(i), Napi::String::New(env, content.data() + offsets[i], end - offsets[i]));
    }
    result.Set("data", strings);
    return result;
  }

  const size_t element_size = ElementSize(type);
  if (element_size == 0) {
    throw Napi::Error::New(env, "fa-onnx: " + what + ": element type " + std::to_string(type) + " is not supported");
  }
  const size_t byte_length = count * element_size;
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, byte_length);
  if (byte_length > 0) {
    void* source = nullptr;
    Check(env, api->GetTensorMutableData(const_cast<OrtValue*>(value), &source), what);
    std::memcpy(buffer.Data(), source, byte_length);
  }
  result.Set("data", buffer);
  return result;
}

Napi::Object DescribeType(Napi::Env env, const OrtTypeInfo* info) {
  const OrtApi* api = Api();
  Napi::Object result = Napi::Object::New(env);
  ONNXType onnx_type = ONNX_TYPE_UNKNOWN;
  Check(env, api->GetOnnxTypeFromTypeInfo(info, &onnx_type), "type info");
  result.Set("isTensor", Napi::Boolean::New(env, onnx_type == ONNX_TYPE_TENSOR));
  if (onnx_type != ONNX_TYPE_TENSOR) return result;

  const OrtTensorTypeAndShapeInfo* tensor = nullptr;  // owned by info
  Check(env, api->CastTypeInfoToTensorInfo(info, &tensor), "type info");
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  size_t rank = 0;
  Check(env, api->GetTensorElementType(tensor, &type), "type info");
  Check(env, api->GetDimensionsCount(tensor, &rank), "type info");
  std::vector<int64_t> dims(rank);
  std::vector<const char*> symbols(rank, nullptr);
  Check(env, api->GetDimensions(tensor, dims.data(), rank), "type info");
  Check(env, api->GetSymbolicDimensions(tensor, symbols.data(), rank), "type info");
  Napi::Array shape = Napi::Array::New(env, rank);
  Napi::Array symbolic = Napi::Array::New(env, rank);
  for (size_t i = 0; i < rank; ++i) {
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(dims[i])));
    symbolic.Set(static_cast<uint32_t>(i), Napi::String::New(env, symbols[i] != nullptr ? symbols[i] : ""));
  }
  result.Set("type", Napi::Number::New(env, type));
  result.Set("shape", shape);
  result.Set("symbolicDimensions", symbolic);
  return result;
}

}  // namespace fa_onnx_addon
