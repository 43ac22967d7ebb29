#!/usr/bin/env bash
# GPU machine: fa-onnx end to end on ONNX Runtime's CUDA provider (onnxruntime-node 1.29 bundle).
# 1. every bundled corpus model rewritten and verified on the CUDA provider (both models on CUDA);
# 2. real-size fp16 models (export_models.py): original vs fa-onnx (Hopper dispatch, then the
#    portable kernel with FA_ONNX_HOPPER=0) vs ONNX Runtime's MultiHeadAttention, 2048 tokens.
# Run from the repo root after stage.sh's calls (see there). Logs and tables go to $OUT.
set -u
root=$(pwd)
lib_b= lib_b_name=
stage=$root/.device-stage/e2e
out=${OUT:-/tmp/e2e-out}
mkdir -p "$out" /tmp/e2e /tmp/corpus
source "$stage/ort-cuda-env.sh" "$stage" >/dev/null
t0=$(date +%s)
if [ -f "$stage/prebuilt/libfa_onnx_ops.so.xz" ]; then
  # stage.sh was given one built on the CPU machine (E2E_OPS_LIB): no build here.
  echo "== ops library prebuilt on the CPU machine ($(cat "$stage/prebuilt/built-from.txt" 2>/dev/null))"
  mkdir -p /tmp/e2e-ops/out && xz -dc "$stage/prebuilt/libfa_onnx_ops.so.xz" > /tmp/e2e-ops/out/libfa_onnx_ops.so
  build_pid=
  if [ -f /tmp/ort-cuda-parts/libfa_onnx_ops_b.so.xz ]; then  # stage.sh's E2E_OPS_LIB_B, copied by its own call
    xz -dc /tmp/ort-cuda-parts/libfa_onnx_ops_b.so.xz > /tmp/e2e-ops/out/libfa_onnx_ops_b.so
    lib_b=/tmp/e2e-ops/out/libfa_onnx_ops_b.so lib_b_name=$(cat /tmp/ort-cuda-parts/b-name.txt)
  fi
else
echo "== build the ops library with CUDA (sm_90a Hopper kernel + portable kernel for sm_90), from the staged commit"
( cmake -S "$stage/src" -B /tmp/e2e-ops -DCMAKE_BUILD_TYPE=Release -DONNXRUNTIME_INCLUDE_DIR="$stage/ort-include" \
    -DFA_ONNX_CUDA_ARCHS=90-real -DFA_ONNX_OUTPUT_DIR=/tmp/e2e-ops/out && cmake --build /tmp/e2e-ops -j "$(nproc)" ) \
  > "$out/build.log" 2>&1 &
build_pid=$!
fi
# E2E_KERNEL_CHECKS=1: the kernel numerics, sanitizer and feature benchmark (test/gpu/run.sh) run while
# the ops library builds (the GPU is idle during the build; the end-to-end timings come after both).
if [ "${E2E_KERNEL_CHECKS:-0}" = 1 ]; then
  OUT="$out/kernels" bash test/gpu/run.sh check,sanitize,features > "$out/kernels.txt" 2>&1
  echo "kernel checks: exit $?"; grep -E "passed|SUMMARY|FAIL|^\\| " "$out/kernels.txt" | head -60
fi
[ -z "$build_pid" ] || wait "$build_pid" || { tail -30 "$out/build.log"; exit 1; }
cp /tmp/e2e-ops/out/libfa_onnx_ops.so "$stage/build/Release/"
echo "built in $(( $(date +%s) - t0 )) s; $(cat "$stage/commit.txt")" | tee "$out/build-summary.txt"
for p in onnxruntime-common onnxruntime-node; do ln -sfn "/tmp/ort-cuda/pkg/node_modules/$p" "$stage/node_modules/$p"; done
export FA_ONNX_ORT_LIBRARY=$ORT_CUDA_LIB_DIR/libonnxruntime.so.1
cli="node $stage/dist/esm/cli/main.js"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"

echo "== corpus on the CUDA provider" | tee "$out/corpus.txt"
[ "${E2E_SKIP_CORPUS:-0}" = 1 ] && echo "(skipped: E2E_SKIP_CORPUS=1)" | tee -a "$out/corpus.txt"
for m in $([ "${E2E_SKIP_CORPUS:-0}" = 1 ] || ls models/corpus/*.onnx); do
  n=$(basename "$m" .onnx)
  if $cli rewrite "$m" -o "/tmp/corpus/$n.fa.onnx" --verify --provider cuda > "/tmp/corpus/$n.log" 2>&1; then
    echo "ok   $n $(grep -m1 'attention sites' "/tmp/corpus/$n.log" | sed 's/.*: //')" | tee -a "$out/corpus.txt"
  else
    echo "FAIL $n (exit $?)" | tee -a "$out/corpus.txt"; tail -5 "/tmp/corpus/$n.log" | tee -a "$out/corpus.txt"
  fi
done
grep -h -A30 'max' /tmp/corpus/*.log > "$out/corpus-verify.txt" 2>/dev/null

# E2E_SKIP_MODELS=1: stop after the corpus (no op benchmark, no real-size models).
[ "${E2E_SKIP_MODELS:-0}" = 1 ] && exit 0
echo "== one op, chained: where the time of fa_onnx.FlashAttention goes" | tee "$out/op-bench.txt"
# At 128 tokens every node's figure is mostly host and launch cost (ours against MultiHeadAttention and Add).
for seq in 2048 128; do
  (cd "$stage" && node op-bench.mjs $seq) 2>&1 | grep -v "^\s*$" | tee -a "$out/op-bench.txt"
  [ -z "$lib_b" ] || (cd "$stage" && echo "library $lib_b_name:" && FA_ONNX_OPS_LIBRARY=$lib_b OP_BENCH_VARIANTS=plain,causal node op-bench.mjs $seq) 2>&1 | grep -v "^\s*$" | tee -a "$out/op-bench.txt"
done

echo "== real-size models" | tee "$out/e2e.txt"
python3 test/gpu/e2e/export_models.py /tmp/e2e 2>&1 | grep -v Warning | tail -4
for m in ${E2E_MODELS:-encoder decoder}; do
  $cli rewrite "/tmp/e2e/$m.onnx" -o "/tmp/e2e/$m.fa.onnx" --json > "/tmp/e2e/$m.report.json"
  node -e 'const r=require(process.argv[1]); console.log(r.summary, JSON.stringify(r.sites[0].attributes))' "/tmp/e2e/$m.report.json" | tee -a "$out/e2e.txt"
  python3 test/gpu/e2e/to_mha.py "/tmp/e2e/$m.fa.onnx" "/tmp/e2e/$m.mha.onnx" "/tmp/e2e/$m.report.json" 2>&1 | tail -2 | tee -a "$out/e2e.txt"
  (cd "$stage" && node compare.mjs "$m" "/tmp/e2e/$m.onnx" "/tmp/e2e/$m.fa.onnx" "/tmp/e2e/$m.mha.onnx" 2048 50) 2>&1 | tee -a "$out/e2e.txt"
  if [ "${E2E_PROFILE:-0}" = 1 ]; then  # ONNX Runtime's per-op host times, original / fa-onnx / MHA
    for v in "" .fa .mha; do (cd "$stage" && node profile.mjs "$out/profile-$m$v" "/tmp/e2e/$m$v.onnx") 2>&1 | grep -v onnxruntime: | tee -a "$out/profile.txt"; done
  fi
  [ -z "$lib_b" ] || (cd "$stage" && FA_ONNX_OPS_LIBRARY=$lib_b node compare.mjs "$m (library $lib_b_name)" "/tmp/e2e/$m.onnx" "/tmp/e2e/$m.fa.onnx" "/tmp/e2e/$m.mha.onnx" 2048 50) 2>&1 | grep -E 'library|fa-onnx' | tee -a "$out/e2e.txt"
  (cd "$stage" && FA_ONNX_HOPPER=0 node compare.mjs "$m (portable kernel)" "/tmp/e2e/$m.onnx" "/tmp/e2e/$m.fa.onnx" "/tmp/e2e/$m.mha.onnx" 2048 50) 2>&1 | grep -E 'portable|fa-onnx' | tee -a "$out/e2e.txt"
done
