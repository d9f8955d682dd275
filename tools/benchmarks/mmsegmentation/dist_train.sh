#!/usr/bin/env bash
# Fine-tune a segmentor from an MCL cohort member (cohort checkpoint + --member, published or extracted file).
# Usage: tools/benchmarks/mmsegmentation/dist_train.sh CFG PRETRAIN GPUS [--member I] [train.py args...]
# Same mechanics as the detection script (it sets model.backbone.init_cfg), so it is reused as is.
exec bash "$(dirname "$0")/../mmdetection/dist_train.sh" "$@"
