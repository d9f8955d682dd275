"""MPerClassSampler: every batch is B/m distinct classes × m images (the authors' sampler), deterministic per
(seed, epoch, rank), an epoch as long as the dataset."""
import numpy as np
import pytest

from mcl_mm.datasets.samplers import MPerClassSampler


class _Labels:

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def get_gt_labels(self):
        return self.labels

    def __len__(self):
        return len(self.labels)


def _batches(sampler):
    order = np.array(list(sampler))
    assert len(order) == len(sampler)
    return order.reshape(-1, sampler.batch_size)


@pytest.mark.parametrize('m, batch_size', [(2, 8), (4, 12), (2, 20)])
def test_each_batch_is_distinct_classes_times_m(m, batch_size):
    labels = np.repeat(np.arange(10), 7)
    sampler = MPerClassSampler(_Labels(labels), batch_size=batch_size, m=m, seed=0)
    batches = _batches(sampler)
    assert len(batches) == len(labels) // batch_size  # an epoch: as many images as the dataset, whole batches
    for batch in batches:
        groups = labels[batch].reshape(-1, m)
        assert (groups == groups[:, :1]).all()  # m images of one class, consecutively
        assert len(set(groups[:, 0])) == batch_size // m  # ... and every class once per batch
        for group in batch.reshape(-1, m):
            assert len(set(group)) == m  # without replacement where the class has >= m images
        # with m = 2 every anchor has exactly one in-batch positive
        positives = (labels[batch][:, None] == labels[batch][None, :]).sum(1) - 1
        assert (positives == m - 1).all()


def test_small_classes_are_drawn_with_replacement():
    labels = np.array([0, 1, 1, 2, 2, 2])
    sampler = MPerClassSampler(_Labels(labels), batch_size=6, m=2, seed=1)
    batch = _batches(sampler)[0]
    assert sorted(set(labels[batch])) == [0, 1, 2]
    assert list(batch[labels[batch] == 0]) == [0, 0]


def test_epochs_differ_and_repeat_exactly():
    labels = np.repeat(np.arange(20), 5)
    sampler = MPerClassSampler(_Labels(labels), batch_size=10, m=2, seed=3)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first and second != first
    again = MPerClassSampler(_Labels(labels), batch_size=10, m=2, seed=3)  # a resumed run
    again.set_epoch(1)
    assert list(again) == second


def test_each_rank_draws_its_own_proper_batches():
    labels = np.repeat(np.arange(16), 6)  # 96 images
    shards = []
    for rank in range(2):
        sampler = MPerClassSampler(_Labels(labels), batch_size=8, m=2, seed=0)
        sampler.rank, sampler.world_size = rank, 2  # what get_dist_info() gives on that rank
        batches = _batches(sampler)
        assert len(batches) == 6
        for batch in batches:
            assert len(set(labels[batch])) == 4
        shards.append(batches)
    assert not np.array_equal(shards[0], shards[1])


def test_configuration_errors_are_clear():
    labels = np.repeat(np.arange(3), 4)
    with pytest.raises(ValueError, match='multiple of m'):
        MPerClassSampler(_Labels(labels), batch_size=5, m=2)
    with pytest.raises(ValueError, match='needs 4 distinct classes, the dataset has 3'):
        MPerClassSampler(_Labels(labels), batch_size=8, m=2)
