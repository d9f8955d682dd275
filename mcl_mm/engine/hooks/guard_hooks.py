"""Stop early and clearly on what would otherwise train silently wrong."""
import math
import re

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mcl_mm.registry import HOOKS
from mcl_mm.utils.errors import ConfigError


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


@HOOKS.register_module()
class ChanceLevelHook(Hook):
    """Notices a cohort member still at chance after the lr warm-up, with a cross-entropy that has not moved: a run
    that spends its whole budget training nothing for that member (seen in the evidence study: one independently
    trained ResNet-20 at 1.4 % top-1 for all 30 epochs while its partner trained).

    Checked at every validation from ``after_epoch`` on, per member (``cohort/member_<i>/top1``): top-1 below
    ``margin`` x chance (100 / number of classes) *and* the member's mean training CE of the last epoch above
    ``1 - min_loss_drop`` of its first epoch's.

    Args:
        action (str): ``'warn'`` logs a loud warning (once per member); ``'stop'`` ends the run with one line
            (the checkpoints so far stay). Defaults to ``'warn'``.
        after_epoch (int, optional): The first validation epoch checked. Defaults to None: the end of the lr
            warm-up (a ``LinearLR`` scheduler's ``end`` in epochs), at least 1.
        margin (float): "At chance" is top-1 below ``margin`` x chance. Defaults to 1.5.
        min_loss_drop (float): "Has not moved" is a CE above ``(1 - min_loss_drop)`` x the first epoch's.
            Defaults to 0.05.
    """

    priority = 'LOW'
    _CE = re.compile(r'loss_ce_m(\d+)$')

    def __init__(self, action: str = 'warn', after_epoch=None, margin: float = 1.5, min_loss_drop: float = 0.05):
        if action not in ('warn', 'stop'):
            raise ConfigError(f"ChanceLevelHook action must be 'warn' or 'stop', got {action!r}")
        self.action, self.after_epoch, self.margin, self.min_loss_drop = action, after_epoch, margin, min_loss_drop
        self.first, self.last, self.current, self.flagged = {}, {}, {}, set()

    def before_train(self, runner) -> None:
        classes = (getattr(runner.train_dataloader.dataset, 'metainfo', None) or {}).get('classes')
        self.num_classes = len(classes) if classes else None
        if self.after_epoch is None:
            ends = [
                s.get('end') for s in (runner.cfg.get('param_scheduler') or [])
                if isinstance(s, dict) and s.get('type') == 'LinearLR' and s.get('by_epoch', True)
            ]
            self.after_epoch = max([1] + [int(e) for e in ends if isinstance(e, (int, float))])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for name, value in (outputs or {}).items():
            match = self._CE.match(name)
            if match:
                total, count = self.current.get(int(match.group(1)), (0.0, 0))
                self.current[int(match.group(1))] = (total + float(value), count + 1)

    def after_train_epoch(self, runner) -> None:
        for member, (total, count) in self.current.items():
            self.first.setdefault(member, total / count)
            self.last[member] = total / count
        self.current = {}

    def after_val_epoch(self, runner, metrics=None) -> None:
        if not self.num_classes or runner.epoch < self.after_epoch:
            return
        chance = 100.0 / self.num_classes
        for key, top1 in (metrics or {}).items():
            match = re.fullmatch(r'cohort/member_(\d+)/top1', key)
            member = int(match.group(1)) if match else None
            if member is None or member in self.flagged or member not in self.first:
                continue
            stuck = self.last[member] > (1 - self.min_loss_drop) * self.first[member]
            if float(top1) < self.margin * chance and stuck:
                self.flagged.add(member)
                message = (f'member {member} is still at chance after epoch {runner.epoch}: validation top-1 '
                           f'{float(top1):.2f} % (chance {chance:.2f} %), training CE {self.first[member]:.3f} -> '
                           f'{self.last[member]:.3f}. This run spends its budget training nothing for that member; '
                           'restart it (another seed, a lower lr or a longer warm-up)')
                if self.action == 'stop':
                    raise ConfigError(message + " (default_hooks.chance_guard.action='warn' only warns)")
                runner.logger.warning('!' * 20 + ' ' + message + ' ' + '!' * 20)


# Also visible from mmdet / mmseg configs (their registries descend from mmengine's root, not from mcl_mm's):
# `custom_hooks = [dict(type='NonFiniteLossHook')]` works in any scope once tools/ have imported mcl_mm.engine.
MMENGINE_HOOKS.register_module(name='NonFiniteLossHook', module=NonFiniteLossHook, force=True)
