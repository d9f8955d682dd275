"""The behaviours mcl_mm changes in mmengine, installed by one explicit call."""
import os.path as osp

import mmengine.config.config as mmengine_config
from mmengine.dist import master_only
from mmengine.runner import FlexibleRunner, Runner

from .atomic_io import atomic_write_bytes, install_atomic_local_backend
from .checkpoint import register_checkpoint_loader

# First line of every config mcl_mm dumps into a work_dir: a file there without it is the user's, not ours.
DUMP_MARK = '# mcl_mm: resolved config of run'


def _is_config_dump(path: str) -> bool:
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.readline().startswith(DUMP_MARK)
    except OSError:
        return False


@master_only
def dump_config_keeping_user_files(runner) -> None:
    """mmengine's ``Runner.dump_config`` writes ``work_dir/<config name>`` and so replaces a config the user
    keeps in the work_dir (often the very file being run) with its flattened dump. Here an existing file is
    replaced only when it is an earlier dump; otherwise the dump goes to ``work_dir/<timestamp>/``."""
    name = osp.basename(runner.cfg.filename) if runner.cfg.filename else f'{runner.timestamp}.py'
    target = osp.join(runner.work_dir, name)
    if osp.exists(target) and not _is_config_dump(target):
        target = osp.join(runner.work_dir, runner.timestamp, name)
        runner.logger.info(f'{osp.join(runner.work_dir, name)} is not a config dump of an earlier run (kept as it '
                           f'is); the resolved config goes to {target}')
    if name.endswith('.py'):
        atomic_write_bytes(f'{DUMP_MARK} {runner.timestamp}\n{runner.cfg.pretty_text}'.encode(), target)
    else:
        runner.cfg.dump(target)


def _format_code_once(format_code):
    """yapf's ``FormatCode`` remembering its last results: mmengine formats the same resolved config with yapf for
    the log, the config dump, the visualizer's copy and every checkpoint's meta (about 1.3 s each for a detector
    on a CPU core, most of a short run's start-up). A pure function of its arguments, so the result is the same."""
    results = {}

    def format_code_once(text, style_config=None, **kwargs):
        key = (text, repr(style_config), repr(sorted(kwargs.items())))
        if key not in results:
            if len(results) >= 8:
                results.clear()
            results[key] = format_code(text, style_config=style_config, **kwargs)
        return results[key]

    format_code_once.wrapped = format_code
    return format_code_once


def install_runtime_patches() -> None:
    """Local checkpoint / log writes become atomic (temp file + fsync + rename, so a kill never leaves a torn
    ``latest`` checkpoint), local checkpoint loads go through :func:`~mcl_mm.engine.checkpoint.
    load_checkpoint_file` (weights-only unless the user opts in), the config dump never replaces a file
    of the user's, and a config is formatted by yapf once instead of once per copy. Idempotent.

    Called by :func:`mcl_mm.utils.build_runner` (tools/train.py, tools/test.py, ``mim train mcl_mm``) and by
    :class:`~mcl_mm.engine.hooks.StrictPretrainedHook` when a config builds it, so mmdet's and mmseg's own
    tools get the same behaviour from the benchmark configs.
    """
    install_atomic_local_backend()
    register_checkpoint_loader()
    Runner.dump_config = dump_config_keeping_user_files
    FlexibleRunner.dump_config = dump_config_keeping_user_files  # not a Runner subclass: its own dump_config
    if not hasattr(mmengine_config.FormatCode, 'wrapped'):
        mmengine_config.FormatCode = _format_code_once(mmengine_config.FormatCode)
