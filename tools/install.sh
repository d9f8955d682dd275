#!/usr/bin/env bash
# One-command, idempotent install of the pinned OpenMMLab 2.x stack + mcl_mm into .venv/.
#
# mmcv 2.1.0 ships no wheels for torch 2.14, and its sdist needs three fixes to build here:
# setuptools>=77.0.3,<82 installed after torch (setup.py imports pkg_resources), --no-build-isolation
# (it imports torch), and -std=c++20 (torch 2.14 headers). The built wheel is cached OUTSIDE the repository,
# keyed by Python / torch / CUDA, so later installs (and CI) reuse it.
#
# Environment knobs:
#   MCL_MM_CACHE   wheel cache root           (default: ${XDG_CACHE_HOME:-~/.cache}/mcl_mm)
#   MCL_MM_VENV    virtual environment path   (default: <repo>/.venv)
#   MCL_MM_PYTHON  interpreter for the venv   (default: python3.11, else python3)
#   MAX_JOBS       parallel compile jobs      (default: nproc)
#   MCL_MM_SKIP_MMCV_COMPILE=1  stop after mmcv's metadata step, before the compile (regression test)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MCL_MM_VENV:-$ROOT/.venv}
CACHE=${MCL_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcl_mm}
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
STEP="start"

fail() {
  echo "mcl_mm install FAILED at step '$STEP': $1" >&2
  exit 1
}
trap 'fail "a command exited non-zero (see the output above); fix it and rerun: bash tools/install.sh"' ERR
log() { echo "[install $(date +%H:%M:%S)] $*"; }

# ---------------------------------------------------------------- venv
STEP="virtualenv"
if [[ ! -x $VENV/bin/python ]]; then
  PY=${MCL_MM_PYTHON:-$(command -v python3.11 || command -v python3)}
  "$PY" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
    || fail "Python >= 3.11 is required; set MCL_MM_PYTHON to one"
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PYTHON=$VENV/bin/python
PIP=("$PYTHON" -m pip --disable-pip-version-check)

pkg_version() { "$PYTHON" - "$1" <<'PYEOF'
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    print("")
PYEOF
}

# ---------------------------------------------------------------- torch
STEP="torch ${TORCH_VERSION} / torchvision ${TORCHVISION_VERSION}"
if [[ $(pkg_version torch) != "$TORCH_VERSION"* || $(pkg_version torchvision) != "$TORCHVISION_VERSION"* ]]; then
  log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  "${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

# ---------------------------------------------------------------- build preconditions
# Established here, after torch, whatever earlier steps (or the user) did: torch 2.14 requires
# setuptools>=77.0.3 and pip upgrades to the newest release when it resolves torch, but mmcv's setup.py
# and mmengine's `mmdet::` config lookup import pkg_resources, which setuptools 82 removed.
STEP="mmcv build preconditions (setuptools>=77.0.3,<82 with pkg_resources, wheel, ninja)"
preconditions_ok() {
  "$PYTHON" - <<'PYEOF' 2>/dev/null
import ninja, pkg_resources, setuptools, wheel
major, minor, patch = (int(x) for x in setuptools.__version__.split('.')[:3])
assert (77, 0, 3) <= (major, minor, patch) < (82,), setuptools.__version__
PYEOF
}
if ! preconditions_ok; then
  log "setuptools $(pkg_version setuptools) found; installing setuptools>=77.0.3,<82, wheel, ninja"
  "${PIP[@]}" install -q "setuptools>=77.0.3,<82" wheel ninja
fi
preconditions_ok || fail "setuptools>=77.0.3,<82 with an importable pkg_resources, wheel and ninja are needed \
in $VENV; a pip constraint may forbid them: check 'pip config list' and rerun"

# ---------------------------------------------------------------- mmcv (built once, cached)
STEP="mmcv ${MMCV_VERSION} build"
mmcv_ok() { "$PYTHON" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; }
if ! mmcv_ok; then
  read -r PY_TAG TORCH_TAG CUDA_TAG < <("$PYTHON" - <<'PYEOF'
import shutil, sys, torch
# CUDA ops only when both a GPU and nvcc are present; otherwise CPU ops.
cuda = torch.version.cuda if (torch.cuda.is_available() and shutil.which("nvcc")) else None
print(f"py{sys.version_info[0]}{sys.version_info[1]}", f"torch{torch.__version__.split('+')[0]}",
      f"cu{cuda.replace('.', '')}" if cuda else "cpu")
PYEOF
)
  WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-$PY_TAG-$TORCH_TAG-$CUDA_TAG
  shopt -s nullglob; wheels=("$WHEEL_DIR"/mmcv-*.whl); shopt -u nullglob
  if (( ${#wheels[@]} == 0 )); then
    BUILD=$(mktemp -d)
    # The sdist comes through pip, so the user's pip configuration (indexes, proxies, certificates,
    # constraints) applies. pip runs mmcv's metadata step (setup.py egg_info) here, in this venv.
    STEP="mmcv ${MMCV_VERSION} source download and metadata (setup.py egg_info)"
    log "fetching the mmcv $MMCV_VERSION source distribution through pip"
    "${PIP[@]}" download -q --no-deps --no-binary mmcv --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
    SRC=$BUILD/mmcv-$MMCV_VERSION
    # torch >= 2.6 headers need C++17+, 2.14 needs C++20.
    sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$SRC/setup.py"
    grep -q 'std=c++20' "$SRC/setup.py" || fail "could not patch mmcv's setup.py for C++20"
    if [[ ${MCL_MM_SKIP_MMCV_COMPILE:-0} == 1 ]]; then
      # Test knob: everything up to the compile has run (venv, torch, preconditions, sdist, egg_info).
      (cd "$SRC" && "$PYTHON" setup.py -q egg_info >/dev/null)
      rm -rf "$BUILD"
      log "mmcv metadata step ok; compile skipped (MCL_MM_SKIP_MMCV_COMPILE=1), stopping before the build"
      exit 0
    fi
    STEP="mmcv ${MMCV_VERSION} build"
    log "building mmcv $MMCV_VERSION with $CUDA_TAG ops (first time only; 7-20 min on 2 cores)"
    export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
    if [[ $CUDA_TAG != cpu ]]; then export FORCE_CUDA=1; fi
    mkdir -p "$WHEEL_DIR"
    (cd "$SRC" && "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD/dist" .)
    # Copy under a temporary name, then rename: an interrupted install never leaves a half wheel in the cache.
    built=$(ls "$BUILD"/dist/mmcv-*.whl)
    cp "$built" "$WHEEL_DIR/.partial"
    mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$built")"
    rm -rf "$BUILD"
    wheels=("$WHEEL_DIR"/mmcv-*.whl)
  else
    log "reusing cached ${wheels[0]}"
  fi
  # Its runtime deps (addict, yapf, opencv, mmengine, ...) come from the normal resolver.
  "${PIP[@]}" install -q "${wheels[0]}"
fi

# ---------------------------------------------------------------- the project
STEP="mcl_mm and the OpenMMLab packages"
if ! "$PYTHON" -c 'import mcl_mm' 2>/dev/null || [[ $ROOT/setup.py -nt $VENV/.mcl_mm_installed ]] \
    || [[ ! -e $ROOT/mcl_mm/.mim/tools/train.py ]]; then
  log "installing mcl_mm (editable) with mmengine / mmdet / mmseg / mmpretrain"
  "${PIP[@]}" install -q -e "$ROOT[tests]"
  touch "$VENV/.mcl_mm_installed"
fi

# ---------------------------------------------------------------- mim
# openmim (0.3.9) finds a codebase at <distribution location>/<package>; an editable (PEP 660) install leaves
# only metadata in site-packages, so `mim train mcl_mm ...` would find nothing. A link to this checkout's
# package (whose .mim/ links to tools/, configs/ and model-index.yml) is what mim reads; imports resolve to
# the same files. A real directory there (a non-editable install) is left alone.
STEP="mim link"
SITE=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ -L $SITE/mcl_mm || ! -e $SITE/mcl_mm ]]; then
  ln -sfn "$ROOT/mcl_mm" "$SITE/mcl_mm"
fi
[[ -e $ROOT/mcl_mm/.mim/tools/train.py ]] || fail "mcl_mm/.mim is incomplete: setup.py's mim extension did not run"

# ---------------------------------------------------------------- verify
STEP="verify imports"
"$PYTHON" - <<'PYEOF' || fail "the stack does not import; delete .venv (and the cached mmcv wheel if it is corrupt) and rerun"
import mmcv, mmcv._ext, mmengine, mmdet, mmseg, mmpretrain, torch, mcl_mm
print(f"[install] ok: torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__} "
      f"(ops), mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}, "
      f"mcl_mm {mcl_mm.__version__}")
PYEOF
