"""Random state as a function of (seed, epoch), so that a resumed run repeats an uninterrupted one."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mcl_mm.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed for ``epoch`` of a run seeded with ``seed`` (numpy's SeedSequence mixes the two)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seeds Python's, numpy's and torch's global generators from (run seed, epoch) before every training
    epoch.

    Without it the augmentations of epoch k+1 draw from whatever state epoch k (and the validation after it)
    left, which a checkpoint does not hold: a run resumed at epoch k draws differently from the uninterrupted
    one. The data order is already a function of (seed, epoch) (mmengine's samplers, ``MPerClassSampler``);
    with this hook so is everything the main process draws (augmentations with ``num_workers=0``, dropout,
    the data loader's worker seeds), and workers that are started anew each epoch
    (``persistent_workers=False``) inherit it. Persistent workers keep their own random state across epochs,
    which lives only in the worker processes: their draws after a resume differ (docs/reliability.md).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.cfg.get('train_dataloader') or {}
        if runner._resume and loader.get('persistent_workers') and loader.get('num_workers', 0) > 0:
            runner.logger.warning('resumed with persistent data-loader workers: their random state is not in the '
                                  'checkpoint, so augmentations from here on differ from an uninterrupted run '
                                  '(set train_dataloader.persistent_workers=False for a bit-exact resume)')

    def before_train_epoch(self, runner) -> None:
        if runner.seed is None:
            return
        seed = epoch_seed(runner.seed, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # every device's generator, CUDA included


# Visible from mmdet / mmseg scopes too (their registries descend from mmengine's root).
MMENGINE_HOOKS.register_module(name='EpochSeedHook', module=EpochSeedHook, force=True)
