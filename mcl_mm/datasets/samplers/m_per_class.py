"""M-per-class sampling for the in-batch (CIFAR) MCL path (docs/method.md §2b)."""
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mcl_mm.datasets.utils import dataset_labels
from mcl_mm.registry import DATA_SAMPLERS
from mcl_mm.utils.errors import ConfigError


@DATA_SAMPLERS.register_module()
class MPerClassSampler(Sampler):
    """Every batch holds ``batch_size / m`` *distinct* classes × ``m`` images of each, as in the authors' code.

    For each batch, ``batch_size / m`` classes are drawn without replacement, then ``m`` images of each
    class (without replacement; with replacement for a class smaller than ``m``), so with m = 2 every anchor
    has exactly one in-batch positive. An *epoch* is ``len(dataset) // (batch_size × world_size)`` such
    batches per rank — as many images as the dataset holds, rounded down to whole batches — not a pass over
    every image: an image may appear twice in an epoch and another not at all.

    The draws are a pure function of (seed, epoch, rank): every epoch differs, a resumed run repeats the
    uninterrupted one, and under DDP each rank draws its own batches (each a proper B/m × m batch).

    Use it with the dataloader's default batching and the *same* ``batch_size`` as the dataloader (the
    base configs set both from one variable); ``batch_size`` must be a multiple of ``m``.

    Args:
        dataset (BaseDataset): An mmpretrain classification dataset (its ground-truth labels are read once).
        batch_size (int): Images per batch (per rank), the dataloader's batch size; a multiple of ``m``.
        m (int): Images per class in a batch (2 in the paper's CIFAR recipe). Defaults to 2.
        seed (int, optional): Shared seed; a random one synchronised across ranks when None. Defaults to None.
    """

    def __init__(self, dataset, batch_size: int, m: int = 2, seed: Optional[int] = None):
        if m < 1 or batch_size < 1 or batch_size % m:
            raise ConfigError(f'MPerClassSampler needs m >= 1 and a batch_size that is a multiple of m, got '
                              f'batch_size={batch_size}, m={m}')
        self.dataset = dataset
        self.batch_size = batch_size
        self.m = m
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0
        labels = dataset_labels(dataset)
        classes = np.unique(labels)
        self._class_indices = [np.flatnonzero(labels == c) for c in classes]
        self.classes_per_batch = batch_size // m
        if len(classes) < self.classes_per_batch:
            raise ConfigError(f'MPerClassSampler: a batch of {batch_size} with m={m} needs {self.classes_per_batch} '
                              f'distinct classes, the dataset has {len(classes)}; lower batch_size or raise m')
        self._num_images = len(labels)
        if self.num_batches == 0:
            raise ConfigError(f'MPerClassSampler: {len(labels)} images make no whole batch of {batch_size} on '
                              f'{self.world_size} rank(s)')

    @property
    def num_batches(self) -> int:
        """Batches per rank and epoch."""
        return self._num_images // (self.batch_size * self.world_size)

    def _batches(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        batches = np.empty((self.num_batches, self.classes_per_batch, self.m), dtype=np.int64)
        for b in range(self.num_batches):
            for slot, c in enumerate(rng.choice(len(self._class_indices), self.classes_per_batch, replace=False)):
                members = self._class_indices[c]
                batches[b, slot] = rng.choice(members, self.m, replace=len(members) < self.m)
        return batches.reshape(self.num_batches, self.batch_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self._batches().reshape(-1).tolist())

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
