#!/usr/bin/env bash
# The GPU measurements behind docs/performance.md, in one run, most important first; each step has its own
# time limit and writes its output to OUT_DIR as it goes, so a cut-off run still reports what it measured.
#
#   bash benchmarks/gpu_suite.sh OUT_DIR [DEADLINE_S]     (PYTHON: the interpreter with the stack; SMOKE=1: tiny
#                                                          sizes on the CPU, to check the script itself;
#                                                          ARCHIVE=FILE.tgz: OUT_DIR packed after every step)
#
# Steps, in the order of the targets in docs/performance.md (a device lease is short): cohort / independent step
# ratios with the loss path eager and compiled (fp32 and bf16 at M = 2, fp32 at M = 4), L-MCL v2 vs MCL compiled,
# fp16 at M = 2, L-MCL v2 vs MCL eager, the loss path alone (time, aten ops, peak memory).
set -u
OUT=${1:?usage: $0 OUT_DIR [DEADLINE_S]}
DEADLINE=$(( $(date +%s) + ${2:-3600} ))
PY=${PYTHON:-python3}
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the package from this checkout, installed or not
mkdir -p "$OUT"
if [[ ${SMOKE:-0} == 1 ]]; then
  STEP=(--device cpu --size 32 --batch 8 --neg-k 256 --bank-size 2000 --repeats 2)
  LOSS=(--device cpu --batch 8 --neg-k 256 --bank-size 2000 --repeats 2)
  LMCL=(--device cpu --size 32 --batch 8 --neg-k 256 --bank-size 2000 --repeats 2)
else
  STEP=(--batch 64 --neg-k 8192 --repeats 10)
  LOSS=(--batch 64 --neg-k 8192 --repeats 20)
  LMCL=(--batch 64 --neg-k 8192 --repeats 5)
fi

run() {  # run NAME LIMIT_S ARGS...: one benchmark, cut at its limit or the deadline, whichever is first
  local name=$1 limit=$2; shift 2
  local left=$(( DEADLINE - $(date +%s) ))
  (( left < 20 )) && { echo "=== $name: skipped (deadline)" | tee -a "$OUT/summary.txt"; return; }
  (( limit > left )) && limit=$left
  echo "=== $name ($limit s max): $*" | tee -a "$OUT/summary.txt"
  local t0=$(date +%s)
  timeout "$limit" "$PY" "$@" 2>&1 | grep -v -E 'Warning|warnings.warn|^ +check\(|USDT|profiler_st' > "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  cat "$OUT/$name.txt"
  echo "=== $name: exit $rc after $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"
  [[ -n ${ARCHIVE:-} ]] && tar -czf "$ARCHIVE" -C "$(dirname "$OUT")" "$(basename "$OUT")"
  return 0
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no GPU'
  "$PY" -c 'import torch, triton; print("torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__)' 2>&1
  nproc; } | tee "$OUT/machine.txt"

run step_fp32_m2 240 benchmarks/bench_step.py "${STEP[@]}" --members 2 --compile off on --json "$OUT/step_fp32_m2.json"
run step_bf16_m2 150 benchmarks/bench_step.py "${STEP[@]}" --members 2 --compile off on --amp bf16 --json "$OUT/step_bf16_m2.json"
run step_fp32_m4 150 benchmarks/bench_step.py "${STEP[@]}" --members 4 --compile off on --json "$OUT/step_fp32_m4.json"
run lmcl_compiled 200 benchmarks/bench_lmcl.py "${LMCL[@]}" --compile on --arms mcl lmcl_v2 --no-meta --json "$OUT/lmcl_compiled.json"
run step_fp16_m2 150 benchmarks/bench_step.py "${STEP[@]}" --members 2 --compile off on --amp fp16 --json "$OUT/step_fp16_m2.json"
run lmcl_eager 150 benchmarks/bench_lmcl.py "${LMCL[@]}" --compile off --arms mcl lmcl_v2 --no-meta --json "$OUT/lmcl_eager.json"
run loss_path_fp32 120 benchmarks/bench_loss_path.py "${LOSS[@]}" --json "$OUT/loss_path_fp32.json"
run loss_path_bf16 120 benchmarks/bench_loss_path.py "${LOSS[@]}" --amp bf16 --json "$OUT/loss_path_bf16.json"
echo "done" | tee -a "$OUT/summary.txt"
