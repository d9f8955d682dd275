"""The two behaviours mcl_mm changes in mmengine, installed by one explicit call."""
from .atomic_io import install_atomic_local_backend
from .checkpoint import register_checkpoint_loader


def install_runtime_patches() -> None:
    """Local checkpoint / log writes become atomic (temp file + fsync + rename, so a kill never leaves a torn
    ``latest`` checkpoint) and local checkpoint loads go through :func:`~mcl_mm.engine.checkpoint.
    load_checkpoint_file` (weights-only unpickling outside the run's own work_dir). Idempotent.

    Called by :func:`mcl_mm.utils.build_runner` (tools/train.py, tools/test.py, ``mim train mcl_mm``) and by
    :class:`~mcl_mm.engine.hooks.StrictPretrainedHook` when a config builds it, so mmdet's and mmseg's own
    tools get the same behaviour from the benchmark configs.
    """
    install_atomic_local_backend()
    register_checkpoint_loader()
