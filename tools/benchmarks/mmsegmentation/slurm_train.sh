#!/usr/bin/env bash
# Slurm variant. Usage: [GPUS=8 ...] tools/benchmarks/mmsegmentation/slurm_train.sh PARTITION JOB CFG PRETRAIN WORK_DIR [--member I] [args...]
set -euo pipefail
PARTITION=$1; JOB=$2; CFG=$3; PRETRAIN=$4; WORK_DIR=$5; shift 5
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PREFIX=None
if [[ ${1:-} == --member ]]; then PREFIX="members.$2.backbone."; shift 2; fi
exec bash "$ROOT/tools/slurm_train.sh" "$PARTITION" "$JOB" "$CFG" "$WORK_DIR" "$@" \
  --cfg-options "model.backbone.init_cfg.checkpoint=$PRETRAIN" "model.backbone.init_cfg.prefix=$PREFIX"
