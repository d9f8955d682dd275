#!/usr/bin/env bash
# Sourced by slurm_train.sh / slurm_test.sh: `slurm_launch PARTITION JOB_NAME TOOL [args...]` runs
# tools/TOOL under srun with one task per GPU and --launcher=slurm.
# Environment: GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS, PYTHON.
slurm_launch() {
  local partition=$1 job_name=$2 tool=$3; shift 3
  local root
  root=$(dirname "${BASH_SOURCE[0]}")/..
  set -x
  PYTHONPATH="$root":$PYTHONPATH \
  srun -p "${partition}" \
      --job-name="${job_name}" \
      --gres=gpu:"${GPUS_PER_NODE:-8}" \
      --ntasks="${GPUS:-8}" \
      --ntasks-per-node="${GPUS_PER_NODE:-8}" \
      --cpus-per-task="${CPUS_PER_TASK:-5}" \
      --kill-on-bad-exit=1 \
      ${SRUN_ARGS:-} \
      "${PYTHON:-python}" -u "$root/tools/$tool" "$@" --launcher="slurm"
}
