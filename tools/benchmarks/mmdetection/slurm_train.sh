#!/usr/bin/env bash
# Slurm variant. Usage: [GPUS=8 ...] tools/benchmarks/mmdetection/slurm_train.sh PARTITION JOB CFG PRETRAIN WORK_DIR [--member I] [args...]
# PRETRAIN as in dist_train.sh: its kind is detected and its backbone checked against CFG first.
set -euo pipefail
source "$(dirname "$0")/../pretrained_args.sh"
(( $# >= 5 )) || die "usage: $0 PARTITION JOB CFG PRETRAIN WORK_DIR [--member I] [args...]"
PARTITION=$1; JOB=$2; CFG=$3; PRETRAIN=$4; WORK_DIR=$5; shift 5
pretrained_options "$CFG" "$PRETRAIN" "$@"
shift "$CONSUMED"
exec bash "$ROOT/tools/slurm_train.sh" "$PARTITION" "$JOB" "$CFG" "$WORK_DIR" "$@" "${OPTS[@]}"
