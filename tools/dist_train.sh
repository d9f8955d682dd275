#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]   (NNODES, NODE_RANK, PORT, MASTER_ADDR honoured)
#        tools/dist_train.sh CONFIG GPUS --preflight [train.py args...]: tools/preflight.py checks that run instead
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT=$(dirname "$0")/..
PYTHON=${PYTHON:-$( [[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python )}

for arg in "${@:3}"; do
  if [[ $arg == --preflight ]]; then
    PYTHONPATH="$ROOT":$PYTHONPATH exec "$PYTHON" "$ROOT/tools/preflight.py" "$CONFIG" --gpus $((GPUS * NNODES)) "${@:3}"
  fi
done

PYTHONPATH="$ROOT":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
