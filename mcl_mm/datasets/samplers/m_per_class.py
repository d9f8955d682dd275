"""M-per-class sampling for the in-batch (CIFAR) MCL path (MCL_SPEC §2b)."""
import math
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mcl_mm.engine.hooks.cohort_memory_hook import dataset_labels
from mcl_mm.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class MPerClassSampler(Sampler):
    """Yields indices in groups of ``m`` images of one class, so a batch of B holds B/m classes × m.

    Each epoch, every class's indices are shuffled and cut into groups of m (a class's last, short
    group is filled by re-drawing from the same class), and the groups are shuffled. The global order is
    identical on all ranks (shared seed + epoch); each rank takes every world_size-th *group*, so under
    DDP each rank's batch is made of whole groups too. Use it with the default batch sampler and a batch
    size divisible by m.

    Args:
        dataset: an mmpretrain classification dataset.
        m: images per class in a group (2 in the paper's CIFAR recipe).
        shuffle: reshuffle every epoch.
        seed: shared seed; synchronised across ranks when None.
    """

    def __init__(self, dataset, m: int = 2, shuffle: bool = True, seed: Optional[int] = None):
        if m < 1:
            raise ValueError(f'MPerClassSampler needs m >= 1, got {m}')
        self.dataset = dataset
        self.m = m
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        labels = dataset_labels(dataset)
        self._class_indices = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        self._num_groups = sum(math.ceil(len(idx) / m) for idx in self._class_indices)

    @property
    def _groups_per_rank(self) -> int:
        return math.ceil(self._num_groups / self.world_size)

    def _global_groups(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed + self.epoch)
        groups = []
        for idx in self._class_indices:
            idx = rng.permutation(idx) if self.shuffle else idx
            short = (-len(idx)) % self.m
            if short:
                idx = np.concatenate([idx, rng.choice(idx, short, replace=True)])
            groups.append(idx.reshape(-1, self.m))
        groups = np.concatenate(groups)
        if self.shuffle:
            groups = groups[rng.permutation(len(groups))]
        # Pad by wrapping so every rank gets the same number of groups.
        total = self._groups_per_rank * self.world_size
        return np.resize(groups, (total, self.m))

    def __iter__(self) -> Iterator[int]:
        groups = self._global_groups()[self.rank::self.world_size]
        return iter(groups.reshape(-1).tolist())

    def __len__(self) -> int:
        return self._groups_per_rank * self.m

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
