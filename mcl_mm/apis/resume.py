"""What ``tools/train.py --resume`` checks before it continues a run: the file is a training checkpoint, the
config builds the model it holds (every tensor of the same shape, the memory bank included), and the recipe a
resume cannot honour is the one the run was trained with.

mmengine restores the optimizer and the schedulers from the checkpoint, so a resume continues the *stored*
recipe whatever the config says: a new lr is ignored while the config dump shows it, a longer ``max_epochs``
runs at the old schedule's floor, a smaller batch ends the cosine early. And it loads the weights non-strictly:
a memory bank of another size is replaced by a fresh random one with a warning in the log. Each of these is
refused here, naming the setting; a new run from the weights is ``--cfg-options load_from=CKPT`` without
``--resume``.
"""
from typing import Iterator, Tuple

from mmengine.runner import Runner

from mcl_mm.engine.checkpoint import check_resumable, load_checkpoint_file
from mcl_mm.utils.errors import ConfigError, UnsafeConfigError
from mcl_mm.utils.safe_config import config_from_data_text
from .cohort_checkpoint import checkpoint_weights, short_repr

# The settings whose values the checkpoint's optimizer / scheduler state (or its weights) fixes.
RECIPE_KEYS = ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg.type', 'train_cfg.max_epochs',
               'train_cfg.max_iters', 'train_dataloader.batch_size', 'train_dataloader.sampler', 'auto_scale_lr')
NEW_RUN = ('a resume continues the run it resumes; resume with the config it was trained with, or start a new run from '
           'these weights with --cfg-options load_from={path} (without --resume)')


def check_resume(runner: Runner, checkpoint: str) -> None:
    """Refuse a resume of ``checkpoint`` by ``runner`` that would not continue the same run (see the module).

    Raises:
        CheckpointLoadError: not a training checkpoint.
        ConfigError: another architecture, another memory bank size, or another recipe, named.
    """
    check_resumable(checkpoint)
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu', mmap=True)
    _check_same_tensors(runner, checkpoint_weights(ckpt, checkpoint), checkpoint)
    meta = ckpt.get('meta')
    stored = meta.get('cfg') if isinstance(meta, dict) else None
    if stored is None:
        return  # a checkpoint without its config: the tensors above are all that can be compared
    try:
        trained = config_from_data_text(stored, f'the config stored in {checkpoint}')
    except UnsafeConfigError as err:
        raise ConfigError(f'--resume {checkpoint}: {err}') from None
    trained, now = trained.to_dict(), runner.cfg.to_dict()
    changed = [change for key in RECIPE_KEYS for change in _differences(key, _get(trained, key), _get(now, key))]
    if changed:
        shown = '; '.join(f'{key}: {short_repr(old, 50)} -> {short_repr(new, 50)}' for key, old, new in changed[:4])
        more = f' (+{len(changed) - 4} more)' if len(changed) > 4 else ''
        raise ConfigError(
            f'--resume {checkpoint}: this config changes what the run was trained with ({shown}{more}); ' +
            NEW_RUN.format(path=checkpoint))


def _check_same_tensors(runner: Runner, state_dict: dict, checkpoint: str) -> None:
    from mmengine.model import is_model_wrapper
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = sorted(k for k in set(own) & set(state_dict) if tuple(own[k].shape) != tuple(state_dict[k].shape))
    if not (missing or unexpected or shapes):
        return
    if shapes:
        key = shapes[0]
        what = f'{key} is {list(state_dict[key].shape)} in the checkpoint, {list(own[key].shape)} in this config'
        if key.startswith('memory.'):
            what += (' (the memory bank holds one slot per training image: the training set or '
                     'model.memory.num_samples changed)')
        elif len(shapes) > 1:
            what += f' (+{len(shapes) - 1} more tensors of another shape)'
    else:
        what = (f'the checkpoint has {len(unexpected)} tensors this config does not build ({", ".join(unexpected[:3])}'
                f') and lacks {len(missing)} it does ({", ".join(missing[:3])})')
    raise ConfigError(f'--resume {checkpoint}: another architecture: {what}; ' + NEW_RUN.format(path=checkpoint))


def _get(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _differences(path: str, old, new) -> Iterator[Tuple[str, object, object]]:
    """(dotted key, old, new) of every leaf that differs (lists and tuples compare as the same kind)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            yield from _differences(f'{path}.{key}', old.get(key), new.get(key))
    elif isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _differences(f'{path}.{i}', a, b)
    elif old != new:
        yield path, old, new
