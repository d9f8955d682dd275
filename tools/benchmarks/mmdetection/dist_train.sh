#!/usr/bin/env bash
# Fine-tune a detector or segmentor (mmdet / mmseg config) from an MCL cohort member.
# Usage: tools/benchmarks/mmdetection/dist_train.sh CFG PRETRAIN GPUS [--member I] [train.py args...]
#   PRETRAIN: a cohort training checkpoint (with --member I), a tools/model_converters/publish_model.py file or a
#   tools/model_converters/extract_backbone.py file (without --member); the kind is detected and the backbone weights are
#   checked to fit CFG's backbone before anything starts.
# GPUS=1 runs one plain process (CPU works too); more use tools/dist_train.sh (torchrun). With --preflight among
# the train.py args, tools/preflight.py checks the run instead of training.
set -euo pipefail
source "$(dirname "$0")/../pretrained_args.sh"
(( $# >= 3 )) || die "usage: $0 CFG PRETRAIN GPUS [--member I] [train.py args...]"
CFG=$1; PRETRAIN=$2; GPUS=$3; shift 3
[[ $GPUS =~ ^[1-9][0-9]*$ ]] || die "GPUS must be the number of processes to start (1, 2, ...), got '$GPUS'"
pretrained_options "$CFG" "$PRETRAIN" "$@"
shift "$CONSUMED"
if [[ $GPUS == 1 ]]; then
  for arg in "$@"; do  # --preflight: check the run (tools/preflight.py) instead of training
    [[ $arg == --preflight ]] && exec "$PYTHON" "$ROOT/tools/preflight.py" "$CFG" "$@" "${OPTS[@]}"
  done
  exec "$PYTHON" "$ROOT/tools/train.py" "$CFG" "$@" "${OPTS[@]}"
fi
exec bash "$ROOT/tools/dist_train.sh" "$CFG" "$GPUS" "$@" "${OPTS[@]}"
