#!/usr/bin/env bash
# Slurm variant. Usage: [GPUS=8 ...] tools/benchmarks/mmdetection/slurm_test.sh PARTITION JOB CFG CHECKPOINT [test.py args...]
set -euo pipefail
source "$(dirname "$0")/../pretrained_args.sh"
(( $# >= 4 )) || die "usage: $0 PARTITION JOB CFG CHECKPOINT [test.py args...]"
exec bash "$ROOT/tools/slurm_test.sh" "$@"
