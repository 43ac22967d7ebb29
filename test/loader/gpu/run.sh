#!/bin/bash
# GPU-machine check; run from the repo root after the ort-cuda parts are in /tmp/ort-cuda-parts.
set -u
source .device-stage/p_e/ort-cuda-env.sh .device-stage
cd .device-stage/fa
ln -sfn /tmp/ort-cuda/pkg/node_modules node_modules
nvidia-smi --query-gpu=name --format=csv,noheader
FA_ONNX_ORT_LIBRARY=$ORT_CUDA_LIB_DIR/libonnxruntime.so.1 node gpu-check.mjs 2>&1 | tail -30
python3 py-check.py "$PWD/build/Release/libfa_onnx_ops.so" 2>&1 | tail -5
