// Turns a node's inputs into AttentionParams, checking everything the contract lists (ops/README.md,
// "Errors"); outputs are allocated only once every check has passed.
#include "validate.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>

namespace fa_onnx::reg {
namespace {

struct Tensor {
  bool present = false;
  std::vector<int64_t> shape;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  const void* data = nullptr;
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// Where a [batch, seq, heads, dim] tensor sits in memory (see TensorView).
struct Form {
  int rank = 0;
  bool bhsd = false;
  int64_t batch = 0, seq = 0, heads = 0, dim = 0;
};

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

const char* TypeName(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN: return "float8e4m3fn";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    default: return "an unsupported type";
  }
}

// Collects the first error; later checks are skipped once one failed.
class Checker {
 public:
  explicit Checker(std::string op) : op_(std::move(op)) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  template <typename... Parts>
  bool Fail(const Parts&... parts) {
    if (error_.empty()) {
      std::ostringstream s;
      s << op_ << ": ";
      (s << ... << parts);
      error_ = s.str();
    }
    return false;
  }
  const std::string& op() const { return op_; }

 private:
  std::string op_;
  std::string error_;
};

Tensor Input(OrtKernelContext* ctx, size_t index) {
  Tensor t;
  size_t count = 0;
  Ort::ThrowOnError(Api().KernelContext_GetInputCount(ctx, &count));
  if (index >= count) return t;
  const OrtValue* value = nullptr;
  Ort::ThrowOnError(Api().KernelContext_GetInput(ctx, index, &value));
  if (!value) return t;
  Ort::ConstValue v{value};
  auto info = v.GetTensorTypeAndShapeInfo();
  t.present = true;
  t.shape = info.GetShape();
  t.type = info.GetElementType();
  t.data = v.GetTensorRawData();
  return t;
}

// Allocates output `index` (nullptr when the node does not use that optional output).
void* Output(OrtKernelContext* ctx, size_t index, const std::vector<int64_t>& shape) {
  size_t count = 0;
  Ort::ThrowOnError(Api().KernelContext_GetOutputCount(ctx, &count));
  if (index >= count) return nullptr;
  OrtValue* value = nullptr;
  Ort::ThrowOnError(Api().KernelContext_GetOutput(ctx, index, shape.data(), shape.size(), &value));
  if (!value) return nullptr;
  void* data = nullptr;
  Ort::ThrowOnError(Api().GetTensorMutableData(value, &data));
  return data;
}

template <typename View>
View ViewOf(const Form& f, const void* data) {
  View v;
  v.data = const_cast<void*>(data);
  if (f.bhsd) {
    v.batch_stride = f.heads * f.seq * f.dim;
    v.seq_stride = f.dim;
    v.head_stride = f.seq * f.dim;
  } else {
    v.batch_stride = f.seq * f.heads * f.dim;
    v.seq_stride = f.heads * f.dim;
    v.head_stride = f.dim;
  }
  return v;
}

const char* LayoutName(bool bshd) { return bshd ? "[B, S, H, D] (layout BSHD)" : "[B, H, S, D] (layout BHSD)"; }

// query/key/value of the dense ops: rank 3 packed heads or rank 4 in the node's layout.
bool ParseDense(Checker& c, const char* name, const Tensor& t, bool bshd, int heads_attr, const char* attr_name,
                Form* f) {
  f->rank = t.rank();
  if (t.rank() == 3) {
    if (heads_attr <= 0) {
      return c.Fail(name, " has rank 3 ([B, S, H*D], shape ", ShapeString(t.shape), ") and needs the ", attr_name,
                    " attribute");
    }
    if (t.shape[2] % heads_attr != 0) {
      return c.Fail(attr_name, "=", heads_attr, " does not divide the last dim of ", name, " ",
                    ShapeString(t.shape));
    }
    *f = {3, false, t.shape[0], t.shape[1], heads_attr, t.shape[2] / heads_attr};
    return true;
  }
  if (t.rank() == 4) {
    if (bshd) *f = {4, false, t.shape[0], t.shape[1], t.shape[2], t.shape[3]};
    else *f = {4, true, t.shape[0], t.shape[2], t.shape[1], t.shape[3]};
    if (heads_attr > 0 && f->heads != heads_attr) {
      return c.Fail(name, " ", ShapeString(t.shape), " has ", f->heads, " heads but ", attr_name, "=", heads_attr);
    }
    return true;
  }
  return c.Fail(name, " must have rank 3 ([B, S, H*D]) or 4 (", LayoutName(bshd), "), got rank ", t.rank(),
                " (shape ", ShapeString(t.shape), ")");
}

// query/key/value of the varlen op: [T, H, D] or [T, H*D]; batch 1 of T tokens.
bool ParseTokens(Checker& c, const char* name, const Tensor& t, int heads_attr, const char* attr_name, Form* f) {
  f->rank = t.rank();
  if (t.rank() == 2) {
    if (heads_attr <= 0) {
      return c.Fail(name, " has rank 2 ([T, H*D], shape ", ShapeString(t.shape), ") and needs the ", attr_name,
                    " attribute");
    }
    if (t.shape[1] % heads_attr != 0) {
      return c.Fail(attr_name, "=", heads_attr, " does not divide the last dim of ", name, " ",
                    ShapeString(t.shape));
    }
    *f = {2, false, 1, t.shape[0], heads_attr, t.shape[1] / heads_attr};
    return true;
  }
  if (t.rank() == 3) {
    *f = {3, false, 1, t.shape[0], t.shape[1], t.shape[2]};
    if (heads_attr > 0 && f->heads != heads_attr) {
      return c.Fail(name, " ", ShapeString(t.shape), " has ", f->heads, " heads but ", attr_name, "=", heads_attr);
    }
    return true;
  }
  return c.Fail(name, " must have rank 2 ([T, H*D]) or 3 ([T, H, D]), got rank ", t.rank(), " (shape ",
                ShapeString(t.shape), ")");
}

// The output's shape: the query's form with Dv.
std::vector<int64_t> OutputShape(const Form& q, int64_t dv) {
  if (q.rank == 3) return {q.batch, q.seq, q.heads * dv};
  if (q.bhsd) return {q.batch, q.heads, q.seq, dv};
  return {q.batch, q.seq, q.heads, dv};
}

bool CheckHeadsAndDims(Checker& c, const Form& q, const Form& k, const Form& v, Provider provider) {
  if (k.heads != v.heads) return c.Fail("key has ", k.heads, " heads but value has ", v.heads);
  if (k.heads <= 0 || q.heads <= 0) return c.Fail("head counts must be positive (query ", q.heads, ", key ", k.heads, ")");
  if (q.heads % k.heads != 0) {
    return c.Fail("query heads (", q.heads, ") must be a multiple of key/value heads (", k.heads, ")");
  }
  if (q.dim != k.dim) return c.Fail("query head dim ", q.dim, " does not match key head dim ", k.dim);
  if (provider == Provider::kCpu) {
    if (q.dim < 1 || q.dim > 512) return c.Fail("head dim ", q.dim, " is unsupported on the CPU provider (1 to 512)");
    if (v.dim < 1 || v.dim > 512) {
      return c.Fail("value head dim ", v.dim, " is unsupported on the CPU provider (1 to 512)");
    }
  } else if (q.dim < 1 || v.dim < 1) {
    return c.Fail("head dims must be positive (D ", q.dim, ", Dv ", v.dim, ")");
  }
  return true;
}

bool CheckType(Checker& c, const char* name, const Tensor& t, ONNXTensorElementDataType want) {
  if (t.type != want) return c.Fail(name, " must be ", TypeName(want), ", got ", TypeName(t.type));
  return true;
}

// bias / attn_mask: numpy-broadcastable to [B, Hq, Sq, Sk]; broadcast axes get stride 0.
bool ParseBroadcast(Checker& c, const char* name, const Tensor& t, const int64_t (&target)[4], BroadcastView* out) {
  if (t.rank() < 1 || t.rank() > 4) {
    return c.Fail(name, " must have rank 1 to 4 (broadcastable to [B, Hq, Sq, Sk]), got shape ", ShapeString(t.shape));
  }
  int64_t stride = 1;
  for (int axis = 3; axis >= 0; --axis) {
    const int idx = t.rank() - 4 + axis;
    if (idx < 0) {
      out->stride[axis] = 0;
      continue;
    }
    const int64_t d = t.shape[idx];
    if (d == target[axis]) {
      out->stride[axis] = d == 1 ? 0 : stride;
    } else if (d == 1) {
      out->stride[axis] = 0;
    } else {
      return c.Fail(name, " of shape ", ShapeString(t.shape), " is not broadcastable to [B, Hq, Sq, Sk] = ",
                    ShapeString({target[0], target[1], target[2], target[3]}));
    }
    stride *= d;
  }
  out->data = t.data;
  return true;
}

bool ParseAlibi(Checker& c, const Tensor& t, int64_t batch, int64_t heads_q, AttentionParams* p) {
  if (!t.present) return true;
  if (!CheckType(c, "alibi_slopes", t, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)) return false;
  if (t.rank() == 1 && t.shape[0] == heads_q) {
    p->alibi_batch_stride = 0;
  } else if (t.rank() == 2 && t.shape[0] == batch && t.shape[1] == heads_q) {
    p->alibi_batch_stride = heads_q;
  } else {
    return c.Fail("alibi_slopes must have shape [Hq] = [", heads_q, "] or [B, Hq] = [", batch, ", ", heads_q,
                  "], got ", ShapeString(t.shape));
  }
  p->alibi_slopes = static_cast<const float*>(t.data);
  return true;
}

bool ParseLengthsVector(Checker& c, const char* name, const Tensor& t, int64_t entries) {
  if (!CheckType(c, name, t, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32)) return false;
  if (t.rank() != 1 || t.shape[0] != entries) {
    return c.Fail(name, " must have shape [", entries, "], got ", ShapeString(t.shape));
  }
  return true;
}

bool FitsInt(Checker& c, const char* what, int64_t v) {
  if (v > INT_MAX / 2) return c.Fail(what, " ", v, " is too large");
  return true;
}

void CommonAttributes(const NodeAttributes& a, int64_t head_dim, AttentionParams* p) {
  p->scale = a.scale != 0.f ? a.scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  p->softcap = a.softcap;
  p->window_left = a.window_left;
  p->window_right = a.window_right;
  p->bottom_right = a.bottom_right;
  p->masked_rows = a.masked_rows;
}

DType ToDType(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DType::kBFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN: return DType::kFloat8E4M3;
    default: return DType::kFloat32;
  }
}

bool IsAttentionType(ONNXTensorElementDataType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 ||
         t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
}

bool CheckQKVTypes(Checker& c, const Tensor& q, const Tensor& k, const Tensor& v, bool fp8) {
  if (fp8) {
    return CheckType(c, "query", q, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN) &&
           CheckType(c, "key", k, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN) &&
           CheckType(c, "value", v, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN);
  }
  if (!IsAttentionType(q.type)) return c.Fail("unsupported dtype ", TypeName(q.type), " (float32, float16 or bfloat16)");
  if (k.type != q.type || v.type != q.type) {
    return c.Fail("query, key and value must share one dtype, got ", TypeName(q.type), ", ", TypeName(k.type), ", ",
                  TypeName(v.type));
  }
  return true;
}

// ---- FlashAttention and FlashAttentionFp8 ----------------------------------------------------------

std::string ValidateDense(const Kernel& kernel, OrtKernelContext* ctx, bool host, ValidatedCall* out) {
  const NodeAttributes& a = kernel.attrs;
  const bool fp8 = kernel.kind == OpKind::kFp8;
  Checker c(OpName(kernel.kind));
  const Tensor q = Input(ctx, 0), k = Input(ctx, 1), v = Input(ctx, 2);
  const Tensor bias = fp8 ? Tensor{} : Input(ctx, 3);
  const Tensor mask = fp8 ? Tensor{} : Input(ctx, 4);
  const Tensor key_lengths = Input(ctx, fp8 ? 6 : 5);
  const Tensor alibi = Input(ctx, fp8 ? 7 : 6);
  Form fq, fk, fv;
  if (!CheckQKVTypes(c, q, k, v, fp8) || !ParseDense(c, "query", q, a.bshd, a.num_heads, "num_heads", &fq) ||
      !ParseDense(c, "key", k, a.bshd, a.kv_num_heads, "kv_num_heads", &fk) ||
      !ParseDense(c, "value", v, a.bshd, a.kv_num_heads, "kv_num_heads", &fv)) {
    return c.error();
  }
  if (fq.batch != fk.batch || fq.batch != fv.batch) {
    return c.Fail("inconsistent batch sizes: query ", fq.batch, ", key ", fk.batch, ", value ", fv.batch), c.error();
  }
  if (fk.seq != fv.seq) return c.Fail("key length ", fk.seq, " and value length ", fv.seq, " differ"), c.error();
  if (!CheckHeadsAndDims(c, fq, fk, fv, kernel.provider) || !FitsInt(c, "query length", fq.seq) ||
      !FitsInt(c, "key length", fk.seq) || !FitsInt(c, "batch", fq.batch)) {
    return c.error();
  }
  AttentionParams& p = out->params;
  p.dtype = ToDType(q.type);
  p.batch = static_cast<int>(fq.batch);
  p.heads_q = static_cast<int>(fq.heads);
  p.heads_kv = static_cast<int>(fk.heads);
  p.seqlen_q = static_cast<int>(fq.seq);
  p.seqlen_k = static_cast<int>(fk.seq);
  p.head_dim = static_cast<int>(fq.dim);
  p.head_dim_v = static_cast<int>(fv.dim);
  p.q = ViewOf<TensorView>(fq, q.data);
  p.k = ViewOf<TensorView>(fk, k.data);
  p.v = ViewOf<TensorView>(fv, v.data);
  CommonAttributes(a, fq.dim, &p);

  const int64_t target[4] = {fq.batch, fq.heads, fq.seq, fk.seq};
  if (bias.present) {
    if (bias.type != q.type) return c.Fail("bias must have the query's dtype ", TypeName(q.type), ", got ", TypeName(bias.type)), c.error();
    if (!ParseBroadcast(c, "bias", bias, target, &p.bias)) return c.error();
  }
  if (mask.present) {
    if (!CheckType(c, "attn_mask", mask, ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) ||
        !ParseBroadcast(c, "attn_mask", mask, target, &p.mask)) {
      return c.error();
    }
  }
  if (key_lengths.present) {
    if (!ParseLengthsVector(c, "key_lengths", key_lengths, fq.batch)) return c.error();
    p.key_lengths = static_cast<const int32_t*>(key_lengths.data);
    if (host) {
      for (int b = 0; b < p.batch; ++b) {
        const int32_t len = p.key_lengths[b];
        if (len < 0 || len > fk.seq) {
          return c.Fail("key_lengths[", b, "] = ", len, " is outside [0, ", fk.seq, "] (the key length)"), c.error();
        }
      }
    }
  }
  if (!ParseAlibi(c, alibi, fq.batch, fq.heads, &p)) return c.error();
  if (fp8) {
    const Tensor qd = Input(ctx, 3), kd = Input(ctx, 4), vd = Input(ctx, 5);
    const char* names[3] = {"q_descale", "k_descale", "v_descale"};
    const Tensor* ds[3] = {&qd, &kd, &vd};
    int form = -1;  // 0: scalar, 1: [B, Hk]
    for (int i = 0; i < 3; ++i) {
      const Tensor& d = *ds[i];
      if (!CheckType(c, names[i], d, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)) return c.error();
      int f;
      if (d.rank() == 0 || (d.rank() == 1 && d.shape[0] == 1)) f = 0;
      else if (d.rank() == 2 && d.shape[0] == fq.batch && d.shape[1] == fk.heads) f = 1;
      else return c.Fail(names[i], " must have shape [], [1] or [B, Hk] = [", fq.batch, ", ", fk.heads, "], got ", ShapeString(d.shape)), c.error();
      if (form >= 0 && f != form) {
        return c.Fail("q_descale, k_descale and v_descale must all be scalars or all be [B, Hk]"), c.error();
      }
      form = f;
    }
    p.q_descale = static_cast<const float*>(qd.data);
    p.k_descale = static_cast<const float*>(kd.data);
    p.v_descale = static_cast<const float*>(vd.data);
    p.descale_batch_stride = form == 1 ? fk.heads : 0;
    p.descale_head_stride = form == 1 ? 1 : 0;
  }

  // Every check passed: allocate the outputs.
  p.o = ViewOf<MutableTensorView>(Form{fq.rank, fq.bhsd, fq.batch, fq.seq, fq.heads, fv.dim},
                                  Output(ctx, 0, OutputShape(fq, fv.dim)));
  p.lse = static_cast<float*>(Output(ctx, 1, {fq.batch, fq.heads, fq.seq}));
  p.lse_batch_stride = fq.heads * fq.seq;
  p.lse_head_stride = fq.seq;
  p.lse_seq_stride = 1;
  return "";
}

// ---- FlashAttentionVarlen ----------------------------------------------------------------------------

bool CheckOffsets(Checker& c, const char* name, const int32_t* cu, int64_t batch, int64_t tokens, int limit_attr,
                  const char* limit_name, int* max_len) {
  if (cu[0] != 0) return c.Fail(name, "[0] = ", cu[0], " must be 0");
  int m = 0;
  for (int64_t b = 0; b < batch; ++b) {
    if (cu[b + 1] < cu[b]) return c.Fail(name, " decreases at entry ", b + 1, " (", cu[b], " then ", cu[b + 1], ")");
    m = std::max(m, cu[b + 1] - cu[b]);
  }
  if (cu[batch] != tokens) return c.Fail(name, "[", batch, "] = ", cu[batch], " must equal the token count ", tokens);
  if (limit_attr > 0 && m > limit_attr) {
    return c.Fail(limit_name, "=", limit_attr, " is smaller than a sequence of ", m, " tokens in ", name);
  }
  *max_len = m;
  return true;
}

std::string ValidateVarlen(const Kernel& kernel, OrtKernelContext* ctx, bool host, ValidatedCall* out) {
  const NodeAttributes& a = kernel.attrs;
  Checker c(OpName(kernel.kind));
  const Tensor q = Input(ctx, 0), k = Input(ctx, 1), v = Input(ctx, 2);
  const Tensor cu_q = Input(ctx, 3), cu_k = Input(ctx, 4), alibi = Input(ctx, 5);
  Form fq, fk, fv;
  if (!CheckQKVTypes(c, q, k, v, false) || !ParseTokens(c, "query", q, a.num_heads, "num_heads", &fq) ||
      !ParseTokens(c, "key", k, a.kv_num_heads, "kv_num_heads", &fk) ||
      !ParseTokens(c, "value", v, a.kv_num_heads, "kv_num_heads", &fv) ||
      !CheckHeadsAndDims(c, fq, fk, fv, kernel.provider) || !FitsInt(c, "query tokens", fq.seq) ||
      !FitsInt(c, "key tokens", fk.seq)) {
    return c.error();
  }
  if (fk.seq != fv.seq) return c.Fail("key has ", fk.seq, " tokens but value has ", fv.seq), c.error();
  if (!CheckType(c, "cu_seqlens_q", cu_q, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) ||
      !CheckType(c, "cu_seqlens_k", cu_k, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32)) {
    return c.error();
  }
  if (cu_q.rank() != 1 || cu_q.shape[0] < 1) return c.Fail("cu_seqlens_q must have shape [B+1], got ", ShapeString(cu_q.shape)), c.error();
  if (cu_k.rank() != 1 || cu_k.shape[0] != cu_q.shape[0]) {
    return c.Fail("cu_seqlens_k must have shape [B+1] = [", cu_q.shape[0], "] like cu_seqlens_q, got ", ShapeString(cu_k.shape)), c.error();
  }
  const int64_t batch = cu_q.shape[0] - 1;
  AttentionParams& p = out->params;
  p.cu_seqlens_q = static_cast<const int32_t*>(cu_q.data);
  p.cu_seqlens_k = static_cast<const int32_t*>(cu_k.data);
  int max_q = 0, max_k = 0;
  if (host) {
    if (!CheckOffsets(c, "cu_seqlens_q", p.cu_seqlens_q, batch, fq.seq, a.max_seqlen_q, "max_seqlen_q", &max_q) ||
        !CheckOffsets(c, "cu_seqlens_k", p.cu_seqlens_k, batch, fk.seq, a.max_seqlen_k, "max_seqlen_k", &max_k)) {
      return c.error();
    }
  } else {
    // Device offsets: trust the attributes, else bound by the token counts.
    max_q = a.max_seqlen_q > 0 ? a.max_seqlen_q : static_cast<int>(fq.seq);
    max_k = a.max_seqlen_k > 0 ? a.max_seqlen_k : static_cast<int>(fk.seq);
  }
  if (!ParseAlibi(c, alibi, batch, fq.heads, &p)) return c.error();
  p.dtype = ToDType(q.type);
  p.batch = static_cast<int>(batch);
  p.heads_q = static_cast<int>(fq.heads);
  p.heads_kv = static_cast<int>(fk.heads);
  p.seqlen_q = max_q;
  p.seqlen_k = max_k;
  p.total_q = static_cast<int>(fq.seq);
  p.total_k = static_cast<int>(fk.seq);
  p.head_dim = static_cast<int>(fq.dim);
  p.head_dim_v = static_cast<int>(fv.dim);
  p.q = ViewOf<TensorView>(fq, q.data);
  p.k = ViewOf<TensorView>(fk, k.data);
  p.v = ViewOf<TensorView>(fv, v.data);
  p.q.batch_stride = p.k.batch_stride = p.v.batch_stride = 0;
  CommonAttributes(a, fq.dim, &p);
  Form fo{fq.rank, false, 1, fq.seq, fq.heads, fv.dim};
  const std::vector<int64_t> o_shape =
      fq.rank == 2 ? std::vector<int64_t>{fq.seq, fq.heads * fv.dim} : std::vector<int64_t>{fq.seq, fq.heads, fv.dim};
  p.o = ViewOf<MutableTensorView>(fo, Output(ctx, 0, o_shape));
  p.o.batch_stride = 0;
  p.lse = static_cast<float*>(Output(ctx, 1, {fq.heads, fq.seq}));
  p.lse_batch_stride = 0;
  p.lse_head_stride = fq.seq;
  p.lse_seq_stride = 1;
  return "";
}

// ---- FlashAttentionKVCache -----------------------------------------------------------------------------

// A cache tensor: contiguous [B, S_max, Hk, D] / [B, Hk, S_max, D] by layout, or paged
// [num_blocks, block_size, Hk, D]. For paged caches Form.batch is the block count, seq the block size.
bool ParseCache(Checker& c, const char* name, const Tensor& t, bool bshd, bool paged, Form* f) {
  if (t.rank() != 4) {
    return c.Fail(name, " must have rank 4 (", paged ? "[num_blocks, block_size, Hk, D]" : LayoutName(bshd),
                  "), got shape ", ShapeString(t.shape));
  }
  if (paged || bshd) *f = {4, false, t.shape[0], t.shape[1], t.shape[2], t.shape[3]};
  else *f = {4, true, t.shape[0], t.shape[2], t.shape[1], t.shape[3]};
  return true;
}

std::string ValidateKVCache(const Kernel& kernel, OrtKernelContext* ctx, bool host, ValidatedCall* out) {
  const NodeAttributes& a = kernel.attrs;
  Checker c(OpName(kernel.kind));
  const Tensor q = Input(ctx, 0), k_new = Input(ctx, 1), v_new = Input(ctx, 2);
  const Tensor k_cache = Input(ctx, 3), v_cache = Input(ctx, 4), seqlens = Input(ctx, 5);
  const Tensor block_table = Input(ctx, 6), alibi = Input(ctx, 7);
  const bool paged = block_table.present;
  const bool with_new = k_new.present || v_new.present;
  if (k_new.present != v_new.present) return c.Fail("key_new and value_new must be given together"), c.error();
  Form fq, fkc, fvc, fkn, fvn;
  if (!CheckQKVTypes(c, q, k_cache, v_cache, false) ||
      !ParseDense(c, "query", q, a.bshd, a.num_heads, "num_heads", &fq) ||
      !ParseCache(c, "key_cache", k_cache, a.bshd, paged, &fkc) ||
      !ParseCache(c, "value_cache", v_cache, a.bshd, paged, &fvc)) {
    return c.error();
  }
  if (fkc.batch != fvc.batch || fkc.seq != fvc.seq) {
    return c.Fail("key_cache ", ShapeString(k_cache.shape), " and value_cache ", ShapeString(v_cache.shape),
                  " differ in their leading dims"), c.error();
  }
  if (!CheckHeadsAndDims(c, fq, fkc, fvc, kernel.provider) || !FitsInt(c, "query length", fq.seq)) return c.error();
  if (with_new) {
    if (!CheckQKVTypes(c, q, k_new, v_new, false) ||
        !ParseDense(c, "key_new", k_new, a.bshd, a.kv_num_heads > 0 ? a.kv_num_heads : static_cast<int>(fkc.heads), "kv_num_heads", &fkn) ||
        !ParseDense(c, "value_new", v_new, a.bshd, a.kv_num_heads > 0 ? a.kv_num_heads : static_cast<int>(fkc.heads), "kv_num_heads", &fvn)) {
      return c.error();
    }
    if (fkn.batch != fq.batch || fvn.batch != fq.batch || fkn.seq != fq.seq || fvn.seq != fq.seq) {
      return c.Fail("key_new ", ShapeString(k_new.shape), " and value_new ", ShapeString(v_new.shape),
                    " must have the query's batch ", fq.batch, " and length ", fq.seq), c.error();
    }
    if (fkn.heads != fkc.heads || fvn.heads != fkc.heads) {
      return c.Fail("key_new/value_new have ", fkn.heads, "/", fvn.heads, " heads but the cache has ", fkc.heads), c.error();
    }
    if (fkn.dim != fkc.dim || fvn.dim != fvc.dim) {
      return c.Fail("key_new/value_new head dims ", fkn.dim, "/", fvn.dim, " do not match the cache's ", fkc.dim, "/", fvc.dim), c.error();
    }
  }
  if (!ParseLengthsVector(c, "cache_seqlens", seqlens, fq.batch)) return c.error();
  int64_t capacity = fkc.seq;
  int64_t block_size = 0, max_blocks = 0;
  if (paged) {
    if (!CheckType(c, "block_table", block_table, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32)) return c.error();
    if (block_table.rank() != 2 || block_table.shape[0] != fq.batch) {
      return c.Fail("block_table must have shape [B, max_blocks] with B = ", fq.batch, ", got ", ShapeString(block_table.shape)), c.error();
    }
    block_size = fkc.seq;
    max_blocks = block_table.shape[1];
    capacity = block_size * max_blocks;
    if (block_size < 1) return c.Fail("the paged cache's block size must be positive"), c.error();
  } else if (fkc.batch != fq.batch) {
    return c.Fail("key_cache has batch ", fkc.batch, " but query has ", fq.batch), c.error();
  }
  if (!FitsInt(c, "cache capacity", capacity)) return c.error();
  const int64_t new_tokens = with_new ? fq.seq : 0;
  const int32_t* lens = static_cast<const int32_t*>(seqlens.data);
  const int32_t* table = static_cast<const int32_t*>(block_table.data);
  if (host) {
    for (int64_t b = 0; b < fq.batch; ++b) {
      if (lens[b] < 0) return c.Fail("cache_seqlens[", b, "] = ", lens[b], " is negative"), c.error();
      if (lens[b] + new_tokens > capacity) {
        return c.Fail("cache_seqlens[", b, "] + new tokens = ", lens[b] + new_tokens, " exceeds the cache's capacity ", capacity), c.error();
      }
      if (paged) {
        const int64_t used = (lens[b] + new_tokens + block_size - 1) / block_size;
        for (int64_t i = 0; i < used; ++i) {
          const int32_t blk = table[b * max_blocks + i];
          if (blk < 0 || blk >= fkc.batch) {
            return c.Fail("block_table[", b, ", ", i, "] = ", blk, " is outside [0, ", fkc.batch, ")"), c.error();
          }
        }
      }
    }
  }
  AttentionParams& p = out->params;
  if (!ParseAlibi(c, alibi, fq.batch, fq.heads, &p)) return c.error();

  // Outputs: attention output, then the caches (in place when ONNX Runtime allows it).
  void* o = Output(ctx, 0, OutputShape(fq, fvc.dim));
  void* kc_out = Output(ctx, 1, k_cache.shape);
  void* vc_out = Output(ctx, 2, v_cache.shape);
  const size_t esize = q.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT ? 4 : 2;
  if (kc_out && kc_out != k_cache.data) out->cache_copies.push_back({k_cache.data, kc_out, esize * k_cache.numel()});
  if (vc_out && vc_out != v_cache.data) out->cache_copies.push_back({v_cache.data, vc_out, esize * v_cache.numel()});
  const void* kc = kc_out ? kc_out : k_cache.data;
  const void* vc = vc_out ? vc_out : v_cache.data;

  p.dtype = ToDType(q.type);
  p.batch = static_cast<int>(fq.batch);
  p.heads_q = static_cast<int>(fq.heads);
  p.heads_kv = static_cast<int>(fkc.heads);
  p.seqlen_q = static_cast<int>(fq.seq);
  p.seqlen_k = static_cast<int>(capacity);
  p.head_dim = static_cast<int>(fq.dim);
  p.head_dim_v = static_cast<int>(fvc.dim);
  p.q = ViewOf<TensorView>(fq, q.data);
  p.k = ViewOf<TensorView>(fkc, kc);
  p.v = ViewOf<TensorView>(fvc, vc);
  p.cache_lengths = lens;
  p.cache_new_tokens = static_cast<int>(new_tokens);
  if (paged) {
    p.block_table = table;
    p.block_table_batch_stride = max_blocks;
    p.block_size = static_cast<int>(block_size);
  }
  CommonAttributes(a, fq.dim, &p);
  p.bottom_right = true;
  p.o = ViewOf<MutableTensorView>(Form{fq.rank, fq.bhsd, fq.batch, fq.seq, fq.heads, fvc.dim}, o);
  p.lse = static_cast<float*>(Output(ctx, 3, {fq.batch, fq.heads, fq.seq}));
  p.lse_batch_stride = fq.heads * fq.seq;
  p.lse_head_stride = fq.seq;
  p.lse_seq_stride = 1;

  if (with_new) {
    KVAppendParams& ap = out->append_params;
    out->append = true;
    ap.dtype = p.dtype;
    ap.batch = p.batch;
    ap.heads_kv = p.heads_kv;
    ap.new_tokens = static_cast<int>(fq.seq);
    ap.head_dim = p.head_dim;
    ap.head_dim_v = p.head_dim_v;
    ap.k_new = ViewOf<TensorView>(fkn, k_new.data);
    ap.v_new = ViewOf<TensorView>(fvn, v_new.data);
    ap.k_cache = ViewOf<MutableTensorView>(fkc, kc);
    ap.v_cache = ViewOf<MutableTensorView>(fvc, vc);
    ap.cache_seqlens = lens;
    ap.block_table = p.block_table;
    ap.block_table_batch_stride = p.block_table_batch_stride;
    ap.block_size = p.block_size;
  }
  return "";
}

}  // namespace

std::string Validate(const Kernel& kernel, OrtKernelContext* context, bool host_values, ValidatedCall* out) {
  switch (kernel.kind) {
    case OpKind::kDense:
    case OpKind::kFp8:
      return ValidateDense(kernel, context, host_values, out);
    case OpKind::kVarlen:
      return ValidateVarlen(kernel, context, host_values, out);
    case OpKind::kKVCache:
      return ValidateKVCache(kernel, context, host_values, out);
  }
  return "unknown op";
}

}  // namespace fa_onnx::reg
