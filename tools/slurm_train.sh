#!/usr/bin/env bash
# Usage: [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS=...] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [args...]
# With --preflight among the args, tools/preflight.py checks the run here (no srun) for GPUS processes instead.
source "$(dirname "$0")/slurm_launch.sh"
for arg in "${@:5}"; do
  if [[ $arg == --preflight ]]; then
    ROOT=$(dirname "$0")/..
    PYTHON=${PYTHON:-$( [[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python )}
    PYTHONPATH="$ROOT":$PYTHONPATH exec "$PYTHON" "$ROOT/tools/preflight.py" "$3" --work-dir="$4" \
      --gpus "${GPUS:-8}" "${@:5}"
  fi
done
slurm_launch "$1" "$2" train.py "$3" --work-dir="$4" "${@:5}"
