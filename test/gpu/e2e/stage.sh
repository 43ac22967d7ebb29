#!/usr/bin/env bash
# Here (no GPU): packs what the end-to-end run needs into .device-stage/e2e (git-ignored), after
# `npm install` built the addon; run.sh builds the CUDA ops library (committed sources) on the GPU machine. Then, on the GPU machine (see run.sh):
#   calls 1-5: carry [".device-stage/p_X"], command: mkdir -p /tmp/ort-cuda-parts && cp .device-stage/p_X/part.* /tmp/ort-cuda-parts/
#   call 6:    carry [".device-stage/e2e"], command: bash test/gpu/e2e/run.sh
# (E2E_OPS_LIB=path here: stage an ops library built on this machine; run.sh then skips its build.)
# (p_a..p_e come from the GPU bundle staging described in the device notes.)
set -euo pipefail
cd "$(dirname "$0")/../../.."
built=${FA_ONNX_BUILD_DIR:-build/Release}  # where `npm install` put the addon
[ -f "$built/fa_onnx_addon.node" ] || { echo "stage: $built/fa_onnx_addon.node missing: run npm install first" >&2; exit 1; }
# The ops library is built with CUDA on the GPU machine (run.sh, 16 cores); it needs ONNX Runtime's headers.
ort_include=${ONNXRUNTIME_INCLUDE_DIR:-.deps/debian/usr/include/onnxruntime}
[ -f "$ort_include/onnxruntime_c_api.h" ] || { echo "stage: no ONNX Runtime headers in $ort_include (run npm install first)" >&2; exit 1; }
[ -f .device-stage/p_e/ort-cuda-env.sh ] || { echo "stage: .device-stage/p_e/ort-cuda-env.sh missing (stage the GPU bundle first)" >&2; exit 1; }
npm run -s build:ts
s=.device-stage/e2e
rm -rf "$s" && mkdir -p "$s/build/Release" "$s/node_modules/@bufbuild"
cp -r dist package.json "$s/"
cp "$built/fa_onnx_addon.node" "$s/build/Release/"
cp -r "$ort_include" "$s/ort-include"
cp -r node_modules/onnx-buf "$s/node_modules/"
cp -r node_modules/@bufbuild/protobuf "$s/node_modules/@bufbuild/"
cp test/gpu/e2e/compare.mjs test/gpu/e2e/op-bench.mjs test/gpu/e2e/profile.mjs .device-stage/p_e/ort-cuda-env.sh "$s/"
# The ops library's sources as committed (what run.sh builds), whatever is being edited here.
mkdir -p "$s/src" && git archive HEAD ops cmake CMakeLists.txt | tar -x -C "$s/src"
echo "ops library sources of commit $(git rev-parse --short HEAD)" > "$s/commit.txt"
# E2E_OPS_LIB=path: an ops library already built here from these sources with CUDA (e.g. cmake with
# -DFA_ONNX_CUDA_ARCHS=90-real, as run.sh would), so that run.sh skips its ~3-minute build on the GPU machine.
if [ -n "${E2E_OPS_LIB:-}" ]; then
  # xz: the carry limit (64 MiB with the tracked tree and the ONNX Runtime part) has no room for it whole
  mkdir -p "$s/prebuilt" && xz -T2 -6 -c "$E2E_OPS_LIB" > "$s/prebuilt/libfa_onnx_ops.so.xz"
  # E2E_OPS_LIB_B=path: a second library (e.g. built from main) that run.sh times beside it, same run.
  # It has its own folder (no room beside the last part): one more call before run.sh carries
  # .device-stage/lib_b with `mkdir -p /tmp/ort-cuda-parts && cp .device-stage/lib_b/* /tmp/ort-cuda-parts/`.
  rm -rf .device-stage/lib_b
  if [ -n "${E2E_OPS_LIB_B:-}" ]; then
    mkdir -p .device-stage/lib_b
    xz -T2 -6 -c "$E2E_OPS_LIB_B" > .device-stage/lib_b/libfa_onnx_ops_b.so.xz
    echo "${E2E_OPS_LIB_B_NAME:-B}" > .device-stage/lib_b/b-name.txt
  fi
  echo "$(basename "$E2E_OPS_LIB") built here, sources of $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- ops cmake CMakeLists.txt || echo ' + uncommitted changes')" > "$s/prebuilt/built-from.txt"
fi
du -sh "$s"
