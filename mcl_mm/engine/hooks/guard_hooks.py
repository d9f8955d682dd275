"""Stop early and clearly on what would otherwise train silently wrong."""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mcl_mm.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first NaN / Inf loss term, naming the iteration and the term.

    Runs before CheckpointHook, so no checkpoint is written from the diverged state: the last good one stays
    the resume point.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for name, value in (outputs or {}).items():
            value = float(value.detach() if hasattr(value, "detach") else value)
            if not math.isfinite(value):
                last = None
                pointer = f'{runner.work_dir}/last_checkpoint'
                try:
                    last = open(pointer).read().strip()
                except OSError:
                    pass
                raise FloatingPointError(
                    f'non-finite loss: {name} = {value} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}). '
                    f'Training stopped; the last good checkpoint is {last or "none (nothing saved yet)"}. Lower the '
                    'learning rate or check the data, then continue with --resume.')


@HOOKS.register_module()
class CohortDataCheckHook(Hook):
    """Before training: the training set is not empty and its classes match every member's classifier."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        dataset = runner.train_dataloader.dataset
        if len(dataset) == 0:
            raise ValueError(f'the training set is empty ({type(dataset).__name__}); check '
                             'train_dataloader.dataset.data_root / data_prefix / ann_file')
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        members = getattr(model, 'members', None)
        if not classes or members is None:
            return
        for i, member in enumerate(members):
            num = getattr(member.head, 'num_classes', None)
            if num is not None and num != len(classes):
                raise ValueError(
                    f'the training set has {len(classes)} classes but member {i} classifies {num}: set '
                    f'model.members.head.num_classes={len(classes)} (and data_preprocessor.num_classes), or '
                    'point the config at the intended data')


# Also visible from mmdet / mmseg configs (their registries descend from mmengine's root, not from mcl_mm's):
# `custom_hooks = [dict(type='NonFiniteLossHook')]` works in any scope once tools/ have imported mcl_mm.engine.
MMENGINE_HOOKS.register_module(name='NonFiniteLossHook', module=NonFiniteLossHook, force=True)
