# Sourced by the fine-tune launchers: checks the arguments and turns PRETRAIN (+ --member I) into the
# --cfg-options that set model.backbone.init_cfg, after resolve_pretrained.py has checked the file fits CFG.
# After `pretrained_options CFG PRETRAIN "$@"`: OPTS holds the options, CONSUMED how many of "$@" it took.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-$( [[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python )}

die() { echo "fine-tune: $*" >&2; exit 2; }

pretrained_options() {
  local cfg=$1 pretrain=$2; shift 2
  local member=()
  CONSUMED=0
  if [[ ${1:-} == --member ]]; then
    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "--member takes a member index (0, 1, ...)"
    member=(--member "$2"); CONSUMED=2
  fi
  [[ -f $cfg ]] || die "config not found: $cfg"
  [[ -f $pretrain ]] || die "pretrained checkpoint not found: $pretrain"
  local prefix
  prefix=$("$PYTHON" "$ROOT/tools/benchmarks/resolve_pretrained.py" "$cfg" "$pretrain" "${member[@]}") || exit 2
  OPTS=(--cfg-options "model.backbone.init_cfg.checkpoint=$pretrain" "model.backbone.init_cfg.prefix=$prefix")
}
