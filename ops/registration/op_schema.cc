// OrtCustomOp callbacks: each reads the FaCustomOp it belongs to, so one struct serves all four ops,
// every element type and both providers.
#include "op_schema.h"

#include <climits>
#include <exception>
#include <new>

#include "kernel.h"
#include "shape_inference.h"

namespace fa_onnx::reg {
namespace {

constexpr auto kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr auto kInt32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr auto kBool = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;

const FaCustomOp& Self(const OrtCustomOp* op) { return *static_cast<const FaCustomOp*>(op); }

OrtCustomOpInputOutputCharacteristic Characteristic(bool optional) {
  return optional ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

// FlashAttentionKVCache: key_cache (input 3) may become key_cache_out (output 1), value_cache (4)
// value_cache_out (2). ONNX Runtime decides; the op copies when it gets separate buffers.
size_t KVCacheMayInplace(int** input_index, int** output_index) {
  *input_index = new int[2]{3, 4};
  *output_index = new int[2]{1, 2};
  return 2;
}

void ReleaseMayInplace(int* input_index, int* output_index) {
  delete[] input_index;
  delete[] output_index;
}

OrtStatus* CreateKernel(const OrtCustomOp* op, const OrtApi*, const OrtKernelInfo* info, void** kernel) {
  const FaCustomOp& self = Self(op);
  Kernel* k = new (std::nothrow) Kernel{self.kind, self.provider, {}};
  if (!k) return ToStatus(std::string(OpName(self.kind)) + ": out of memory", ORT_FAIL);
  const std::string error = ReadAttributes(self.kind, info, &k->attrs);
  if (!error.empty()) {
    delete k;
    return ToStatus(error);
  }
  *kernel = k;
  return nullptr;
}

OrtStatus* Compute(void* kernel, OrtKernelContext* context) {
  const Kernel& k = *static_cast<const Kernel*>(kernel);
  try {
#ifdef FA_ONNX_WITH_CUDA
    if (k.provider == Provider::kCuda) return ComputeCuda(k, context);
#endif
    return ComputeCpu(k, context);
  } catch (const Ort::Exception& e) {
    return ToStatus(std::string(OpName(k.kind)) + ": " + e.what(), e.GetOrtErrorCode());
  } catch (const std::exception& e) {
    return ToStatus(std::string(OpName(k.kind)) + ": " + e.what(), ORT_FAIL);
  }
}

}  // namespace

const char* OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kDense: return "FlashAttention";
    case OpKind::kVarlen: return "FlashAttentionVarlen";
    case OpKind::kKVCache: return "FlashAttentionKVCache";
    case OpKind::kFp8: return "FlashAttentionFp8";
  }
  return "?";
}

OpSignature MakeSignature(OpKind kind, ONNXTensorElementDataType t) {
  switch (kind) {
    case OpKind::kDense:
      return {{{t, false}, {t, false}, {t, false}, {t, true}, {kBool, true}, {kInt32, true}, {kFloat, true}},
              {{t, false}, {kFloat, true}}};
    case OpKind::kVarlen:
      return {{{t, false}, {t, false}, {t, false}, {kInt32, false}, {kInt32, false}, {kFloat, true}},
              {{t, false}, {kFloat, true}}};
    case OpKind::kKVCache:
      return {{{t, false}, {t, true}, {t, true}, {t, false}, {t, false}, {kInt32, false}, {kInt32, true}, {kFloat, true}},
              {{t, false}, {t, false}, {t, false}, {kFloat, true}}};
    case OpKind::kFp8: {
      constexpr auto f8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN;
      return {{{f8, false}, {f8, false}, {f8, false}, {kFloat, false}, {kFloat, false}, {kFloat, false},
               {kInt32, true}, {kFloat, true}},
              {{ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16, false}, {kFloat, true}}};
    }
  }
  return {};
}

FaCustomOp::FaCustomOp(OpKind k, Provider p, ONNXTensorElementDataType t, bool infer_shapes)
    : OrtCustomOp{}, kind(k), provider(p), element_type(t), signature(MakeSignature(k, t)) {
  version = ORT_API_VERSION;
  GetName = [](const OrtCustomOp* op) { return OpName(Self(op).kind); };
  GetExecutionProviderType = [](const OrtCustomOp* op) -> const char* {
    return Self(op).provider == Provider::kCuda ? "CUDAExecutionProvider" : "CPUExecutionProvider";
  };
  GetInputTypeCount = [](const OrtCustomOp* op) { return Self(op).signature.inputs.size(); };
  GetInputType = [](const OrtCustomOp* op, size_t i) { return Self(op).signature.inputs[i].type; };
  GetOutputTypeCount = [](const OrtCustomOp* op) { return Self(op).signature.outputs.size(); };
  GetOutputType = [](const OrtCustomOp* op, size_t i) { return Self(op).signature.outputs[i].type; };
  GetInputCharacteristic = [](const OrtCustomOp* op, size_t i) {
    return Characteristic(Self(op).signature.inputs[i].optional);
  };
  GetOutputCharacteristic = [](const OrtCustomOp* op, size_t i) {
    return Characteristic(Self(op).signature.outputs[i].optional);
  };
  GetInputMemoryType = [](const OrtCustomOp*, size_t) { return OrtMemTypeDefault; };
  GetVariadicInputMinArity = [](const OrtCustomOp*) { return 1; };
  GetVariadicInputHomogeneity = [](const OrtCustomOp*) { return 1; };
  GetVariadicOutputMinArity = [](const OrtCustomOp*) { return 1; };
  GetVariadicOutputHomogeneity = [](const OrtCustomOp*) { return 1; };
  CreateKernel = nullptr;
  KernelCompute = nullptr;
  CreateKernelV2 = &fa_onnx::reg::CreateKernel;
  KernelComputeV2 = &Compute;
  KernelDestroy = [](void* kernel) { delete static_cast<Kernel*>(kernel); };
  InferOutputShapeFn = infer_shapes ? &InferOutputShapes : nullptr;
  GetStartVersion = [](const OrtCustomOp*) { return 1; };
  GetEndVersion = [](const OrtCustomOp*) { return INT_MAX; };
  if (k == OpKind::kKVCache) {
    GetMayInplace = &KVCacheMayInplace;
    ReleaseMayInplace = &fa_onnx::reg::ReleaseMayInplace;
  }
}

}  // namespace fa_onnx::reg
