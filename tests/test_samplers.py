"""MPerClassSampler: batches made of m-image class groups, full coverage, consistent DDP shards."""
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


@pytest.mark.parametrize('m', [2, 4])
def test_groups_are_single_class_and_cover_the_dataset(m):
    labels = np.repeat(np.arange(10), 7)  # 7 per class: a short last group per class
    sampler = MPerClassSampler(_Labels(labels), m=m, seed=0)
    order = np.array(list(sampler))
    assert len(order) == len(sampler)
    assert (labels[order.reshape(-1, m)] == labels[order.reshape(-1, m)][:, :1]).all()
    assert set(order) == set(range(len(labels)))


def test_epochs_reshuffle_and_are_reproducible():
    labels = np.repeat(np.arange(5), 6)
    sampler = MPerClassSampler(_Labels(labels), m=2, seed=3)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    assert list(sampler) == first and second != first


def test_ranks_take_disjoint_whole_groups():
    labels = np.repeat(np.arange(6), 4)
    shards = []
    for rank in range(2):
        sampler = MPerClassSampler(_Labels(labels), m=2, seed=0)
        sampler.rank, sampler.world_size = rank, 2  # what get_dist_info() gives on that rank
        assert len(sampler) == 12  # 12 groups of 2 over 2 ranks
        shards.append(np.array(list(sampler)))
    for shard in shards:
        assert (labels[shard.reshape(-1, 2)][:, 0] == labels[shard.reshape(-1, 2)][:, 1]).all()
    assert set(shards[0]).isdisjoint(shards[1])
    assert set(shards[0]) | set(shards[1]) == set(range(24))
