// A plain scalar implementation of the contract, kept beside the tiled kernel (llm.c style): one
// query row at a time, all scores of the row in double, no tiling. Slow, but short enough to read
// against ops/README.md; cpu_check compares the kernel with it.
#pragma once

#include "fa_onnx/attention_params.h"

namespace fa_onnx::cpu {

// Same inputs and outputs as cpu::Run (o in the params' dtype, lse in float32).
void ReferenceRun(const AttentionParams& p);

}  // namespace fa_onnx::cpu
