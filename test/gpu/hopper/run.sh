#!/usr/bin/env bash
# The Hopper kernel on the GPU machine, in one call: build with nvcc, SASS and resource report,
# numerics against float64, compute-sanitizer memcheck, benchmark against torch flash and cuDNN.
#   bash test/gpu/hopper/run.sh [numerics|bench|all]   (from the repository root; logs under $OUT)
set -uo pipefail
mode=${1:-all}
OUT=${OUT:-/tmp/fa_hopper_out}
mkdir -p "$OUT"
build=/tmp/fa_hopper_build-$(pwd | md5sum | cut -c1-8)  # per checkout (warm machines are shared)
mkdir -p "$build"
export PYTHONUNBUFFERED=1
status=0

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv | tee "$OUT/gpu.txt"
git log -1 --format='commit %H %cd' 2>/dev/null | tee -a "$OUT/gpu.txt" || true

echo "== build"
t0=$(date +%s)
nvflags=(-std=c++17 -O3 -shared -Xcompiler -fPIC -gencode=arch=compute_90a,code=sm_90a -lineinfo
  -Xptxas=-v,-warn-spills -Iops/include -Iops -Iops/cuda/hopper ops/cuda/hopper/hopper_attention.cu test/gpu/hopper/shim.cu)
# Variants (VARIANTS="name:-DFLAG=.. name2:..."), built alongside and timed on a subset of the grid.
variants=${VARIANTS:-}
for v in $variants; do
  name=${v%%:*}; flags=${v#*:}
  nvcc "${nvflags[@]}" ${flags//,/ } -o "$build/lib_$name.so" > "$build/ptxas_$name.txt" 2>&1 &
done
nvcc "${nvflags[@]}" -o "$build/libfahopper.so" > "$build/ptxas.txt" 2>&1 || { cat "$build/ptxas.txt"; exit 1; }
wait
echo "built in $(( $(date +%s) - t0 )) s"
grep -E "spill|Used|warning" "$build/ptxas.txt" | grep -v "0 bytes spill" | sort | uniq -c | head -20

echo "== SASS per kernel: HGMMA, UTMALDG, local memory (LDL/STL), highest register"
cuobjdump --dump-sass "$build/libfahopper.so" > "$build/sass.txt"
awk '/Function : /{name=$3} name{print name "\t" $0}' "$build/sass.txt" | python3 -c '
import re, sys, collections
st = collections.defaultdict(lambda: collections.Counter())
for line in sys.stdin:
    name, _, ins = line.partition("\t")
    c = st[name]
    for op in ("HGMMA", "UTMALDG", "LDL", "STL", "SETMAXREG", "MUFU.EX2"):
        if re.search(r"\b" + op + r"\b", ins): c[op] += 1
    for r in re.findall(r"\bR(\d+)\b", ins): c["maxreg"] = max(c["maxreg"], int(r))
for n, c in st.items():
    short = re.sub(r"_ZN7fa_onnx4cuda6hopper14FlashFwdHopperI", "", n)[:60]
    print(short, dict(c))
' | tee -a "$OUT/gpu.txt"

# The D128 bf16 kernel's SASS, for reading the inner loop offline.
awk '/Function : .*bfloat16NS1_8FwdShapeILi128ELi128/{p=1} /Function : /&&!/bfloat16NS1_8FwdShapeILi128ELi128/{p=0} p' \
  "$build/sass.txt" > "$OUT/sass_d128_bf16.txt"
python3 test/gpu/hopper/sass_wait.py < "$build/sass.txt" | tee -a "$OUT/gpu.txt"
lib="$build/libfahopper.so"
if [[ $mode == all || $mode == numerics ]]; then
  echo "== numerics"
  timeout 240 python3 test/gpu/hopper/check.py --lib "$lib" numerics 2>&1 | tee "$OUT/numerics.txt" || status=1
  echo "== compute-sanitizer memcheck"
  [[ -n ${SKIP_MEMCHECK:-} ]] && echo "skipped (SKIP_MEMCHECK)" || timeout 240 compute-sanitizer --tool memcheck --error-exitcode 7 python3 test/gpu/hopper/check.py --lib "$lib" sanitize \
    > "$OUT/memcheck.txt" 2>&1 || status=1
  [[ -f $OUT/memcheck.txt ]] && tail -3 "$OUT/memcheck.txt"
fi
if [[ $mode == all || $mode == bench ]]; then
  echo "== bench"
  timeout 300 python3 test/gpu/hopper/check.py --lib "$lib" ${BENCH_MODE:-bench} 2>&1 | tee "$OUT/bench.txt" || status=1
fi
if [[ $mode == ncu || -n ${NCU_POINTS:-} ]]; then
  # NCU_POINTS="D,S,causal ..." ; one report per point, with per-line stall sampling.
  for pt in ${NCU_POINTS:-128,8192,0}; do
    tag=${pt//,/_}
    timeout 240 ncu --clock-control none --launch-skip 1 --launch-count 1 -k regex:FlashFwdHopper \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section SchedulerStats --section Occupancy --section SourceCounters \
      --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__cycles_elapsed.avg.per_second \
      -o "$build/prof_$tag" -f python3 test/gpu/hopper/check.py --lib "$lib" profile --point "$pt" > "$build/ncu_run_$tag.txt" 2>&1
    ncu -i "$build/prof_$tag.ncu-rep" --page details --print-details all > "$OUT/ncu_$tag.txt" 2>&1
    ncu -i "$build/prof_$tag.ncu-rep" --page source --csv --print-source sass > "$build/src_$tag.csv" 2>/dev/null || true
    grep -E "Throughput|Duration|Pipe|gmma|xu|Stall|Warp Cycles|Issued|Eligible|SM Frequency|L2 Hit|Busy" "$OUT/ncu_$tag.txt" | head -60
  done
fi
if [[ -n $variants ]]; then
  echo "== variants"
  timeout 200 python3 test/gpu/hopper/check.py --lib "$lib" subset --label default 2>&1 | tee "$OUT/variants.txt"
  for v in $variants; do
    name=${v%%:*}
    grep -E "spill" "$build/ptxas_$name.txt" | grep -v "0 bytes spill" | sort | uniq -c | head -4
    cuobjdump --dump-sass "$build/lib_$name.so" | python3 test/gpu/hopper/sass_wait.py | sed "s/^/variant $name /" \
      | tee -a "$OUT/variants.txt"
    # VARIANTS_NO_NUMERICS: variants that are only timed (e.g. the code on main, for a baseline).
    if [[ " ${VARIANTS_NO_NUMERICS:-} " != *" $name "* ]]; then
      timeout 150 python3 test/gpu/hopper/check.py --lib "$build/lib_$name.so" numerics > "$build/numerics_$name.txt" 2>&1
      echo "variant $name numerics: $(grep -c PASS "$build/numerics_$name.txt") pass; $(grep -E 'FAIL|failure' "$build/numerics_$name.txt" | head -5)" \
        | tee -a "$OUT/variants.txt"
    fi
    timeout 200 python3 test/gpu/hopper/check.py --lib "$build/lib_$name.so" subset --label "$name" 2>&1 | tee -a "$OUT/variants.txt"
  done
fi
echo "== status $status"
exit $status
