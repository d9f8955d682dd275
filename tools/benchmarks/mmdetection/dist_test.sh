#!/usr/bin/env bash
# Evaluate a fine-tuned detector or segmentor (mmdet / mmseg config + the checkpoint its fine-tuning wrote).
# Usage: tools/benchmarks/mmdetection/dist_test.sh CFG CHECKPOINT GPUS [test.py args...]
# GPUS=1 runs one plain process (CPU works too); more use tools/dist_test.sh (torchrun). The checkpoint must
# fit the config's model exactly (tools/test.py loads it strictly).
set -euo pipefail
source "$(dirname "$0")/../pretrained_args.sh"
(( $# >= 3 )) || die "usage: $0 CFG CHECKPOINT GPUS [test.py args...]"
CFG=$1; CHECKPOINT=$2; GPUS=$3; shift 3
[[ $GPUS =~ ^[1-9][0-9]*$ ]] || die "GPUS must be the number of processes to start (1, 2, ...), got '$GPUS'"
if [[ $GPUS == 1 ]]; then
  exec "$PYTHON" "$ROOT/tools/test.py" "$CFG" "$CHECKPOINT" "$@"
fi
exec bash "$ROOT/tools/dist_test.sh" "$CFG" "$CHECKPOINT" "$GPUS" "$@"
