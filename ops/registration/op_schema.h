// The four ops' signatures (input/output types, which are optional, in-place outputs) and the
// OrtCustomOp objects built from them, one per (op, element type, provider).
#pragma once

#include <string>
#include <vector>

#include "ort_api.h"

namespace fa_onnx::reg {

enum class OpKind { kDense, kVarlen, kKVCache, kFp8 };
enum class Provider { kCpu, kCuda };

const char* OpName(OpKind kind);

struct ArgSpec {
  ONNXTensorElementDataType type;
  bool optional;
};

struct OpSignature {
  std::vector<ArgSpec> inputs;
  std::vector<ArgSpec> outputs;
};

// Signature of `kind` with T = `t` (ignored for kFp8, whose types are fixed).
OpSignature MakeSignature(OpKind kind, ONNXTensorElementDataType t);

// One registration: an OrtCustomOp whose callbacks read these fields.
struct FaCustomOp : OrtCustomOp {
  // infer_shapes: register InferOutputShapes (the runtime supports it safely, shape_inference.h).
  FaCustomOp(OpKind kind, Provider provider, ONNXTensorElementDataType t, bool infer_shapes);
  OpKind kind;
  Provider provider;
  ONNXTensorElementDataType element_type;
  OpSignature signature;
};

}  // namespace fa_onnx::reg
