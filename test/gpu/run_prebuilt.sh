#!/usr/bin/env bash
# GPU machine, repository root, after test/gpu/prebuild.sh here and with [".gpu-libs"] carried:
#   bash test/gpu/run_prebuilt.sh checks    numerics of the Hopper kernel (dense + varlen) and of the dispatch
#                                           (Hopper on, then the portable kernel alone), Hopper memcheck
#   bash test/gpu/run_prebuilt.sh grid      the bf16 anchors grid: Hopper kernel / torch flash / cuDNN
#   bash test/gpu/run_prebuilt.sh compare   the Hopper builds against each other, interleaved (compare.py;
#                                           libfahopper.so first, then each lib_NAME.so)
# Modes combine with commas ("checks,grid"). Logs under $OUT; a summary line per step on stdout.
# (The full flows with racecheck, variants and the portable benchmark stay in run.sh and hopper/run.sh.)
set -uo pipefail
cd "$(dirname "$0")/../.."
what=${1:-checks}
L=.gpu-libs
out=${OUT:-/tmp/fa-prebuilt-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
status=0
want() { [[ ",$what," == *",$1,"* ]]; }
step() {  # step NAME LOG COMMAND...: runs it, prints its exit status, last line and time
  local name=$1 log=$2; shift 2
  local t0=$(date +%s)
  "$@" >"$out/$log" 2>&1
  local rc=$?
  [[ $rc == 0 ]] || status=1
  echo "$name: exit $rc; $(grep -v '^PASS' "$out/$log" | tail -1) [$(( $(date +%s) - t0 )) s]"
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
cat "$L/built-from.txt" 2>/dev/null | tee -a "$out/gpu.txt"
if want checks; then
  step "hopper numerics" hopper-numerics.txt python3 test/gpu/hopper/check.py --lib "$L/libfahopper.so" numerics
  step "hopper memcheck" hopper-memcheck.txt compute-sanitizer --tool memcheck --error-exitcode 7 \
    python3 test/gpu/hopper/check.py --lib "$L/libfahopper.so" sanitize
  step "dispatch check" dispatch-check.txt python3 test/gpu/check.py "$L/libfa_gpu_shim.so"
  step "portable check" portable-check.txt env FA_ONNX_HOPPER=0 python3 test/gpu/check.py "$L/libfa_gpu_shim.so"
fi
if want grid; then
  step "grid (bf16)" grid.txt python3 test/gpu/hopper/check.py --lib "$L/libfahopper.so" bench-bf16
  grep -E "^\| bfloat16" "$out/grid.txt"
fi
if want compare; then
  libs=(base="$L/libfahopper.so")
  for f in "$L"/lib_*.so; do [[ -e $f ]] && libs+=("$(basename "$f" .so | sed 's/^lib_//')=$f"); done
  step "compare" compare.txt python3 test/gpu/hopper/compare.py --libs "${libs[@]}" ${COMPARE_POINTS:+--points $COMPARE_POINTS}
  cat "$out/compare.txt"
fi
exit $status
