#!/usr/bin/env bash
# Fine-tune a detector or segmentor (mmdet / mmseg config) from an MCL cohort member (or an extracted backbone).
# Usage: tools/benchmarks/mmdetection/dist_train.sh CFG PRETRAIN GPUS [--member I] [train.py args...]
#   --member I : PRETRAIN is a cohort training checkpoint; take members.I.backbone.*
#   no --member: PRETRAIN is a tools/extract_backbone.py file (keys without prefix)
# GPUS=1 runs one plain process (CPU works too); more use tools/dist_train.sh (torchrun).
set -euo pipefail
CFG=$1; PRETRAIN=$2; GPUS=$3; shift 3
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PREFIX=None
if [[ ${1:-} == --member ]]; then PREFIX="members.$2.backbone."; shift 2; fi
[[ -f $PRETRAIN ]] || { echo "pretrained checkpoint not found: $PRETRAIN" >&2; exit 2; }
OPTS=(--cfg-options "model.backbone.init_cfg.checkpoint=$PRETRAIN" "model.backbone.init_cfg.prefix=$PREFIX")
PYTHON=${PYTHON:-$( [[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python )}
if [[ $GPUS == 1 ]]; then
  exec "$PYTHON" "$ROOT/tools/train.py" "$CFG" "$@" "${OPTS[@]}"
fi
exec bash "$ROOT/tools/dist_train.sh" "$CFG" "$GPUS" "$@" "${OPTS[@]}"
