// Output shape inference for ONNX Runtime's graph optimizer (shape_inference.cc).
#pragma once

#include "op_schema.h"

namespace fa_onnx::reg {

// ONNX Runtime 1.23 dereferences a null type for an absent optional input (given as "") while
// building the shape context, and crashes; 1.24.1, 1.26, 1.27, 1.29 and 1.30 were run here without.
// Below this C API version the ops register no shape inference.
constexpr int kMinShapeInferenceApiVersion = 24;

// OrtCustomOp::InferOutputShapeFn of every registration.
OrtStatus* InferOutputShapes(const OrtCustomOp* op, OrtShapeInferContext* ctx);

}  // namespace fa_onnx::reg
