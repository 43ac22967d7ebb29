// Node attributes: read once when ONNX Runtime creates the kernel, checked against the contract.
#include <string>
#include <vector>

#include "kernel.h"

namespace fa_onnx::reg {
namespace {

// An attribute that is absent keeps its default (ONNX Runtime reports absence as a failed status).
bool GetInt(const OrtKernelInfo* info, const char* name, int64_t* out) {
  OrtStatus* s = Api().KernelInfoGetAttribute_int64(info, name, out);
  if (s) Api().ReleaseStatus(s);
  return s == nullptr;
}

bool GetFloat(const OrtKernelInfo* info, const char* name, float* out) {
  OrtStatus* s = Api().KernelInfoGetAttribute_float(info, name, out);
  if (s) Api().ReleaseStatus(s);
  return s == nullptr;
}

bool GetString(const OrtKernelInfo* info, const char* name, std::string* out) {
  size_t size = 0;
  OrtStatus* s = Api().KernelInfoGetAttribute_string(info, name, nullptr, &size);
  if (s) {
    Api().ReleaseStatus(s);
    return false;
  }
  std::vector<char> buf(size + 1, '\0');
  s = Api().KernelInfoGetAttribute_string(info, name, buf.data(), &size);
  if (s) {
    Api().ReleaseStatus(s);
    return false;
  }
  *out = buf.data();
  return true;
}

}  // namespace

std::string ReadAttributes(OpKind kind, const OrtKernelInfo* info, NodeAttributes* a) {
  const std::string op = OpName(kind);
  int64_t v = 0;
  std::string s;
  GetFloat(info, "scale", &a->scale);
  if (GetInt(info, "causal", &v)) {
    if (v != 0 && v != 1) return op + ": attribute causal must be 0 or 1, got " + std::to_string(v);
    a->causal = v == 1;
  }
  if (GetInt(info, "window_left", &v)) {
    if (v < -1) return op + ": attribute window_left must be -1 or more, got " + std::to_string(v);
    a->window_left = static_cast<int>(v);
  }
  if (GetInt(info, "window_right", &v)) {
    if (v < -1) return op + ": attribute window_right must be -1 or more, got " + std::to_string(v);
    a->window_right = static_cast<int>(v);
  }
  if (a->causal) {
    if (a->window_right > 0) {
      return op + ": causal=1 conflicts with window_right=" + std::to_string(a->window_right) +
             " (causal means window_right=0)";
    }
    a->window_right = 0;
  }
  a->bottom_right = kind == OpKind::kKVCache;
  if (GetString(info, "mask_alignment", &s)) {
    a->mask_alignment_given = true;
    if (s == "bottom_right") {
      a->bottom_right = true;
    } else if (s == "top_left") {
      if (kind == OpKind::kKVCache) return op + ": mask_alignment is fixed to \"bottom_right\" for this op, got \"top_left\"";
      a->bottom_right = false;
    } else {
      return op + ": unknown mask_alignment \"" + s + "\" (expected \"top_left\" or \"bottom_right\")";
    }
  }
  if (GetFloat(info, "softcap", &a->softcap) && !(a->softcap >= 0.f)) {
    return op + ": attribute softcap must be 0 (none) or positive, got " + std::to_string(a->softcap);
  }
  if (GetString(info, "masked_rows", &s)) {
    if (s == "zero") a->masked_rows = MaskedRows::kZero;
    else if (s == "uniform") a->masked_rows = MaskedRows::kUniform;
    else if (s == "nan") a->masked_rows = MaskedRows::kNaN;
    else return op + ": unknown masked_rows \"" + s + "\" (expected \"zero\", \"uniform\" or \"nan\")";
  }
  if (GetString(info, "layout", &s)) {
    if (s == "BSHD") a->bshd = true;
    else if (s == "BHSD") a->bshd = false;
    else return op + ": unknown layout \"" + s + "\" (expected \"BSHD\" or \"BHSD\")";
  }
  const std::pair<const char*, int*> ints[] = {{"num_heads", &a->num_heads},
                                               {"kv_num_heads", &a->kv_num_heads},
                                               {"max_seqlen_q", &a->max_seqlen_q},
                                               {"max_seqlen_k", &a->max_seqlen_k}};
  for (const auto& [name, dst] : ints) {
    if (GetInt(info, name, &v)) {
      if (v < 0 || v > (1ll << 30)) return op + ": attribute " + name + " must be 0 or positive, got " + std::to_string(v);
      *dst = static_cast<int>(v);
    }
  }
  return "";
}

}  // namespace fa_onnx::reg
