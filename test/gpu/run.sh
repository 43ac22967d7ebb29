#!/usr/bin/env bash
# GPU test and benchmark of the CUDA provider, run on the GPU machine (device tool `run`), from the
# repository root: bash test/gpu/run.sh [all | a comma list of check,sanitize,bench,features]  (default all)
# Builds the CUDA library + C-ABI shim (no ONNX Runtime needed), checks numerics against a float64
# reference, runs compute-sanitizer memcheck and racecheck on a small grid, then the anchors-grid
# benchmark and the per-feature benchmark (bench_features.py). Logs go to $OUT (or bench/out/ when OUT is unset).
# FWD_VARIANTS="0 3" builds the portable kernel once per entry, side by side (FA_ONNX_CUDA_FWD_MT: the
# plain kernel's tile shapes, see plain_shape in ops/cuda/fwd_kernel.cuh; an entry may add definitions
# after commas, e.g. "3,FA_ONNX_CUDA_FWD_FOLD=0"), checks each build's numerics and times the others
# beside the first in the same benchmark (columns "ours2", "ours3", ...). Only the first build has the
# Hopper kernel (the others are timed with FA_ONNX_HOPPER=0 anyway). CHECK_QUICK=1: the other builds'
# numerics on the quick grid only.
set -uo pipefail
cd "$(dirname "$0")/../.."
what="${1:-all}"
out="${OUT:-bench/out}"
mkdir -p "$out"
arch="${FA_ONNX_CUDA_ARCHS:-90-real}"
variants="${FWD_VARIANTS:-0}"
# Build folders named after this checkout, so two trees run back to back on a warm machine never share one.
build_root="/tmp/fa-gpu-build-$(pwd | md5sum | cut -c1-8)"
export PYTHONUNBUFFERED=1
status=0
want() { [[ "$what" == all || ",$what," == *",$1,"* ]]; }

echo "== build (archs $arch, portable kernel versions: $variants)"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
start=$(date +%s)
: >"$out/build.log"
pids=()
bdir() { echo "$build_root-mt$(echo "$1" | tr -c 'A-Za-z0-9\n' '_')"; }
first=1
for v in $variants; do  # the variants build side by side (one call must stay inside 10 minutes)
  cfg=${v%%,*}; defs=""; [[ "$v" == *,* ]] && defs=$(echo "${v#*,}" | tr ',' ';')
  ( cmake -S test/gpu -B "$(bdir "$v")" -DCMAKE_BUILD_TYPE=Release -DFA_ONNX_CUDA_ARCHS="$arch" \
      -DFA_ONNX_CUDA_FWD_MT="$cfg" -DFA_ONNX_CUDA_FWD_DEFS="$defs" -DFA_ONNX_CUDA_HOPPER=$([[ $first == 1 ]] && echo ON || echo OFF) \
      -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DFA_ONNX_CUDA_PTXAS_VERBOSE=ON &&
    cmake --build "$(bdir "$v")" -j "$(nproc)" ) >"$(bdir "$v").log" 2>&1 &
  pids+=($!)
  first=0
done
for pid in "${pids[@]}"; do wait "$pid" || build_failed=1; done
for v in $variants; do echo "=== build $v" >>"$out/build.log"; cat "$(bdir "$v").log" >>"$out/build.log"; done
[[ -z "${build_failed:-}" ]] || { tail -50 "$out/build.log"; exit 1; }
echo "built in $(( $(date +%s) - start )) s"
# ptxas: every portable-kernel instantiation that spills (registers to local memory)
grep -A2 "Function properties for .*fwd_kernel" "$out/build.log" | grep -B1 -E "[1-9][0-9]* bytes spill stores" |
  grep -oE "fwd_kernelI[^ ]*|[0-9]+ bytes spill stores" | paste - - | sort -u | sed 's/^/spill: /' || true
libs=()
for v in $variants; do libs+=("$(bdir "$v")/libfa_gpu_shim.so"); done
vlist=($variants)
lib="${libs[0]}"

if want check; then
  # The portable sm80+ kernel alone (FA_ONNX_HOPPER=0), then what the dispatch runs on this GPU.
  echo "== numerics, portable kernel"
  FA_ONNX_HOPPER=0 python3 test/gpu/check.py "$lib" 2>&1 | tee "$out/check.log" | grep -v '^PASS' ; [[ ${PIPESTATUS[0]} == 0 ]] || status=1
  echo "== numerics, dispatch (Hopper kernel where it takes the params)"
  python3 test/gpu/check.py "$lib" 2>&1 | tee "$out/check-dispatch.log" | grep -v '^PASS' ; [[ ${PIPESTATUS[0]} == 0 ]] || status=1
  for ((i = 1; i < ${#libs[@]}; i++)); do
    echo "== numerics, portable kernel, build $((i + 1)) (${vlist[$i]})${CHECK_QUICK:+, quick grid}"
    FA_ONNX_HOPPER=0 python3 test/gpu/check.py "${libs[$i]}" ${CHECK_QUICK:+--quick} 2>&1 | tee "$out/check-v$((i + 1)).log" | grep -v '^PASS' ; [[ ${PIPESTATUS[0]} == 0 ]] || status=1
  done
fi
if want sanitize; then
  : >"$out/sanitize.log"
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer $tool (small grid, portable kernel)" | tee -a "$out/sanitize.log"
    FA_ONNX_HOPPER=0 compute-sanitizer --tool "$tool" --kernel-name kns=fa_onnx --error-exitcode 9 \
      python3 test/gpu/check.py "$lib" --quick >"$out/sanitize-now.log" 2>&1
    rc=$?
    cat "$out/sanitize-now.log" >>"$out/sanitize.log"
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed" "$out/sanitize-now.log"
    # 9: the sanitizer found an error; 1: a numerics case failed under it
    [[ $rc == 0 ]] || { status=1; echo "exit $rc"; grep -m3 -A12 "========= [A-Z]" "$out/sanitize-now.log"; }
    rm -f "$out/sanitize-now.log"
  done
fi
if want features; then
  echo "== feature benchmark"
  python3 test/gpu/bench_features.py "$lib" "$out/bench-features.json" 2>&1 | tee "$out/bench-features.log" | sed -n '/^| D/,$p' || status=1
fi
if want bench; then
  echo "== benchmark"
  python3 test/gpu/bench.py "$lib" "$out/bench.json" "${libs[@]:1}" 2>&1 | tee "$out/bench.log" | sed -n '/^| dtype/,$p' || status=1
fi
exit $status
