#!/usr/bin/env bash
# Slurm variant. Usage: [GPUS=8 ...] tools/benchmarks/mmsegmentation/slurm_train.sh PARTITION JOB CFG PRETRAIN WORK_DIR [--member I] [args...]
# Same mechanics as the detection script (it sets model.backbone.init_cfg), so it is reused as is.
exec bash "$(dirname "$0")/../mmdetection/slurm_train.sh" "$@"
