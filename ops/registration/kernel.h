// The per-node kernel object: its op, provider and checked attributes; compute entry points per provider.
#pragma once

#include <string>

#include "fa_onnx/attention_params.h"
#include "op_schema.h"

namespace fa_onnx::reg {

struct NodeAttributes {
  float scale = 0.f;  // 0: 1/sqrt(D), resolved at compute time
  bool causal = false;
  int window_left = -1, window_right = -1;
  bool bottom_right = false;
  bool mask_alignment_given = false;
  float softcap = 0.f;
  MaskedRows masked_rows = MaskedRows::kZero;
  bool bshd = true;  // layout of rank-4 tensors
  int num_heads = 0, kv_num_heads = 0;
  int max_seqlen_q = 0, max_seqlen_k = 0;  // varlen
};

// Reads and checks the node's attributes; returns an error message (starting with the op name) or "".
std::string ReadAttributes(OpKind kind, const OrtKernelInfo* info, NodeAttributes* out);

struct Kernel {
  OpKind kind;
  Provider provider;
  NodeAttributes attrs;
};

OrtStatus* ComputeCpu(const Kernel& kernel, OrtKernelContext* context);
#ifdef FA_ONNX_WITH_CUDA
OrtStatus* ComputeCuda(const Kernel& kernel, OrtKernelContext* context);
#endif

}  // namespace fa_onnx::reg
