// Output shapes for ONNX Runtime's graph optimizer. Without them it knows no shape after one of our
// nodes, and its shape-dependent fusions there do not fire (BERT's Add + Gelu stayed two nodes:
// bench/RESULTS.md, end to end, 21:35). Output 0 follows the query's form with the value head dim;
// the KV cache outputs follow the cache inputs. The optional log-sum-exp gets none: the context does
// not say whether a node has that output, and naming a missing one is undefined in ONNX Runtime.
// Never an error: what cannot be worked out (unknown dims, malformed ranks) is left unknown here and
// reported by Compute when the node runs.
#include "shape_inference.h"

#include <atomic>
#include <string>
#include <vector>

#include "ort_api.h"

namespace fa_onnx::reg {
namespace {

struct Dim {
  int64_t value = -1;  // >= 0: known
  std::string symbol;  // the exporter's dim_param when not known
  bool known() const { return value >= 0; }
};
struct Shape {
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<Dim> dims;
  size_t size() const { return dims.size(); }
};

// A name no other dim has: ONNX Runtime takes equal names for equal sizes.
Dim Fresh() {
  static std::atomic<int> counter{0};
  return {-1, "fa_onnx_unk_" + std::to_string(counter++)};
}

// Ignores a failed call's status (the caller falls back to "unknown").
bool Ok(OrtStatus* status) {
  if (status == nullptr) return true;
  Api().ReleaseStatus(status);
  return false;
}

// Input `i`'s shape; false when the input is absent or its rank unknown.
bool InputShape(OrtShapeInferContext* ctx, size_t i, Shape* out) {
  size_t count = 0;
  if (!Ok(Api().ShapeInferContext_GetInputCount(ctx, &count)) || i >= count) return false;
  OrtTensorTypeAndShapeInfo* info = nullptr;  // owned by the context
  if (!Ok(Api().ShapeInferContext_GetInputTypeShape(ctx, i, &info))) return false;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  size_t rank = 0;
  if (!Ok(Api().GetTensorElementType(info, &type)) || type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED ||
      !Ok(Api().GetDimensionsCount(info, &rank)) || rank == 0)
    return false;
  std::vector<int64_t> values(rank);
  std::vector<const char*> symbols(rank, nullptr);
  if (!Ok(Api().GetDimensions(info, values.data(), rank)) ||
      !Ok(Api().GetSymbolicDimensions(info, symbols.data(), rank)))
    return false;
  out->type = type;
  out->dims.assign(rank, Dim{});
  for (size_t d = 0; d < rank; ++d) {
    out->dims[d].value = values[d];
    if (values[d] < 0 && symbols[d] != nullptr) out->dims[d].symbol = symbols[d];
  }
  return true;
}

int64_t IntAttribute(OrtShapeInferContext* ctx, const char* name) {
  const OrtOpAttr* attr = nullptr;
  int64_t value = 0;
  size_t size = 0;
  if (!Ok(Api().ShapeInferContext_GetAttribute(ctx, name, &attr)) ||
      !Ok(Api().ReadOpAttr(attr, ORT_OP_ATTR_INT, &value, sizeof(value), &size)))
    return 0;
  return value;
}

// The element type goes with the shape: ONNX Runtime replaces the output's type by the one given here.
void SetOutput(OrtShapeInferContext* ctx, size_t index, const Shape& shape) {
  std::vector<int64_t> values;
  std::vector<const char*> symbols;
  std::vector<Dim> named = shape.dims;
  for (Dim& d : named)
    if (!d.known() && d.symbol.empty()) d = Fresh();
  for (const Dim& d : named) {
    values.push_back(d.value);
    symbols.push_back(d.known() ? "" : d.symbol.c_str());
  }
  OrtTensorTypeAndShapeInfo* info = nullptr;
  if (!Ok(Api().CreateTensorTypeAndShapeInfo(&info))) return;
  if (Ok(Api().SetTensorElementType(info, shape.type)) && Ok(Api().SetDimensions(info, values.data(), values.size())) &&
      Ok(Api().SetSymbolicDimensions(info, symbols.data(), symbols.size())))
    Ok(Api().ShapeInferContext_SetOutputTypeShape(ctx, index, info));
  Api().ReleaseTensorTypeAndShapeInfo(info);
}

// The attention output: the query's shape with the value head dim Dv in the last place (for packed
// heads, heads · Dv). `value` is the value input, or the value cache (its last dim is Dv).
void InferAttentionOutput(OrtShapeInferContext* ctx, const Shape& q, const Shape& value, bool q_packed,
                          bool value_packed, ONNXTensorElementDataType out_type) {
  const int64_t heads = IntAttribute(ctx, "num_heads"), kv_heads = IntAttribute(ctx, "kv_num_heads");
  const Dim& v_last = value.dims.back();
  Dim dv;  // the value head dim
  if (!value_packed) dv = v_last;
  else if (v_last.known() && kv_heads > 0 && v_last.value % kv_heads == 0) dv.value = v_last.value / kv_heads;
  Dim last;
  if (!q_packed) last = dv;
  else if (dv.known() && heads > 0) last.value = heads * dv.value;
  else if (value_packed && heads > 0 && heads == kv_heads) last = v_last;  // heads · Dv, whatever Dv is
  Shape out = q;
  out.type = out_type;
  out.dims.back() = last;
  SetOutput(ctx, 0, out);
}

}  // namespace

OrtStatus* InferOutputShapes(const OrtCustomOp* op, OrtShapeInferContext* ctx) {
  const OpKind kind = static_cast<const FaCustomOp*>(op)->kind;
  Shape q, value;
  if (!InputShape(ctx, 0, &q)) return nullptr;
  switch (kind) {
    case OpKind::kDense:
    case OpKind::kFp8:
      if ((q.size() == 3 || q.size() == 4) && InputShape(ctx, 2, &value) && (value.size() == 3 || value.size() == 4))
        InferAttentionOutput(ctx, q, value, q.size() == 3, value.size() == 3,
                             kind == OpKind::kFp8 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 : q.type);
      break;
    case OpKind::kVarlen:
      if ((q.size() == 2 || q.size() == 3) && InputShape(ctx, 2, &value) && (value.size() == 2 || value.size() == 3))
        InferAttentionOutput(ctx, q, value, q.size() == 2, value.size() == 2, q.type);
      break;
    case OpKind::kKVCache: {
      Shape key_cache;
      if (InputShape(ctx, 3, &key_cache)) SetOutput(ctx, 1, key_cache);
      if (InputShape(ctx, 4, &value)) {
        SetOutput(ctx, 2, value);
        if ((q.size() == 3 || q.size() == 4) && value.size() == 4)
          InferAttentionOutput(ctx, q, value, q.size() == 3, false, q.type);
      }
      break;
    }
  }
  return nullptr;  // ONNX Runtime ignores (and would leak) a returned status
}

}  // namespace fa_onnx::reg
