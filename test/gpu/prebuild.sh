#!/usr/bin/env bash
# Here (no GPU): builds the two GPU test libraries into .gpu-libs/ (git-ignored), so that a device call
# spends its minutes on checks and timings instead of 2 minutes of nvcc (the device budget is per session):
#   .gpu-libs/libfa_gpu_shim.so   the dispatch (portable + Hopper kernels) behind test/gpu/shim.cu
#   .gpu-libs/libfahopper.so      the Hopper kernel alone behind test/gpu/hopper/shim.cu
#   .gpu-libs/lib_NAME.so         per VARIANTS="NAME:-DFLAG=1,-DFLAG2=2 ..." entry, Hopper builds to compare
# Then on the GPU machine, carrying [".gpu-libs"]: bash test/gpu/run_prebuilt.sh [checks|grid|compare].
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu-libs
mkdir -p "$out"
hopper_flags=(-std=c++17 -O3 -shared -Xcompiler -fPIC -gencode=arch=compute_90a,code=sm_90a -lineinfo
  -Iops/include -Iops -Iops/cuda/hopper ops/cuda/hopper/hopper_attention.cu test/gpu/hopper/shim.cu)
start=$(date +%s)
pids=()
nvcc "${hopper_flags[@]}" -o "$out/libfahopper.so" >"$out/build-hopper.log" 2>&1 & pids+=($!)
for v in ${VARIANTS:-}; do
  name=${v%%:*}; flags=${v#*:}
  nvcc "${hopper_flags[@]}" ${flags//,/ } -o "$out/lib_$name.so" >"$out/build-$name.log" 2>&1 & pids+=($!)
done
build=/tmp/fa-gpu-prebuild-$(pwd | md5sum | cut -c1-8)
( cmake -S test/gpu -B "$build" -DCMAKE_BUILD_TYPE=Release -DFA_ONNX_CUDA_ARCHS=90-real &&
  cmake --build "$build" -j "$(nproc)" && cp "$build/libfa_gpu_shim.so" "$out/" ) >"$out/build-dispatch.log" 2>&1 & pids+=($!)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [[ $failed != 0 ]]; then tail -20 "$out"/build-*.log; exit 1; fi
echo "prebuild: $(ls "$out"/*.so | tr '\n' ' ')in $(( $(date +%s) - start )) s, sources of $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- ops test/gpu || echo ' + uncommitted changes')" |
  tee "$out/built-from.txt"
