"""CohortMemoryBank: initialisation, class-aware sampling, the update rule, checkpoint round trip."""
import math

import pytest
import torch
import torch.nn.functional as F

from mcl_mm.models.memories import CohortMemoryBank


def _labelled_bank(num_classes=3, per_class=20, **kwargs):
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    bank = CohortMemoryBank(num_members=2, num_samples=len(labels), feat_dim=8, **kwargs)
    bank.set_labels(labels)
    return bank, labels


def test_initialisation_range_and_shapes():
    bank = CohortMemoryBank(num_members=3, num_samples=500, feat_dim=12)
    stdv = 1 / math.sqrt(12 / 3)
    assert bank.banks.shape == (3, 500, 12)
    assert bank.banks.abs().max() <= stdv
    assert bank.banks.min() < -0.8 * stdv and bank.banks.max() > 0.8 * stdv  # spans the range


def test_sampling_respects_classes():
    bank, labels = _labelled_bank(pos_k=3, neg_k=64)
    anchors = torch.arange(0, 60, 3)
    pos_idx, neg_idx = bank.sample(anchors, labels[anchors])
    assert pos_idx.shape == (20, 4) and neg_idx.shape == (20, 64)
    assert torch.equal(pos_idx[:, 0], anchors)
    assert (labels[pos_idx] == labels[anchors].view(-1, 1)).all()
    assert (labels[neg_idx] != labels[anchors].view(-1, 1)).all()


def test_negatives_are_uniform_over_other_classes():
    bank, labels = _labelled_bank(num_classes=3, per_class=20, pos_k=1, neg_k=4000)
    anchor = torch.tensor([0])
    counts = torch.zeros(60)
    for step in range(5):
        bank.num_updates.fill_(step)
        _, neg_idx = bank.sample(anchor, labels[anchor])
        counts += torch.bincount(neg_idx.flatten(), minlength=60)
    others = labels != labels[0]
    assert (counts[~others] == 0).all()
    expected = counts.sum() / others.sum()
    # 40 cells with ~500 draws each: every cell within 25% of uniform.
    assert ((counts[others] - expected).abs() < 0.25 * expected).all()


def test_draws_depend_only_on_anchor_and_step():
    """Counter-based draws: an anchor gets the same samples whatever else is in its batch (DDP slices)."""
    bank, labels = _labelled_bank(pos_k=2, neg_k=16)
    full = bank.sample(torch.arange(10), labels[:10])
    half = bank.sample(torch.arange(5, 10), labels[5:10])
    assert torch.equal(full[0][5:], half[0]) and torch.equal(full[1][5:], half[1])
    bank.num_updates += 1
    nxt = bank.sample(torch.arange(10), labels[:10])
    assert not torch.equal(full[1], nxt[1])


def test_update_rule_against_reference():
    bank, _ = _labelled_bank(momentum=0.5)
    before = bank.banks.clone()
    idx = torch.tensor([3, 7, 11])
    embs = [F.normalize(torch.randn(3, 8), dim=1) for _ in range(2)]
    bank.update(idx, embs)
    for m in range(2):
        for row, n in enumerate(idx.tolist()):
            ref = 0.5 * before[m, n] + 0.5 * embs[m][row]
            assert torch.allclose(bank.banks[m, n], ref / ref.norm(), atol=1e-6)
    untouched = torch.ones(60, dtype=torch.bool)
    untouched[idx] = False
    assert torch.equal(bank.banks[:, untouched], before[:, untouched])
    assert int(bank.num_updates) == 1


def test_fp16_storage_halves_memory():
    full = CohortMemoryBank(num_members=2, num_samples=1000, feat_dim=128)
    half = CohortMemoryBank(num_members=2, num_samples=1000, feat_dim=128, fp16=True)
    nbytes = lambda b: b.banks.numel() * b.banks.element_size()  # noqa: E731
    assert nbytes(half) * 2 == nbytes(full)
    half.set_labels(torch.arange(1000) % 10)
    half.update(torch.tensor([1, 2]), [F.normalize(torch.randn(2, 128), dim=1)] * 2)
    assert half.banks.dtype == torch.float16
    assert torch.allclose(half.banks[:, 1].float().norm(dim=-1), torch.ones(2), atol=1e-2)


def test_state_dict_round_trip_restores_bank_labels_and_step():
    bank, labels = _labelled_bank(pos_k=1, neg_k=8)
    bank.update(torch.tensor([0, 1]), [F.normalize(torch.randn(2, 8), dim=1)] * 2)
    state = bank.state_dict()
    assert set(state) == {'banks', 'labels', 'num_updates'}
    fresh = CohortMemoryBank(num_members=2, num_samples=60, feat_dim=8, pos_k=1, neg_k=8)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.banks, bank.banks) and torch.equal(fresh.labels, labels)
    anchors = torch.arange(6)
    for a, b in zip(fresh.sample(anchors, labels[anchors]), bank.sample(anchors, labels[anchors])):
        assert torch.equal(a, b)


def test_bad_configuration_is_a_clear_error():
    bank = CohortMemoryBank(num_members=2, num_samples=10, feat_dim=4)
    with pytest.raises(ValueError, match=r'num_samples=10 slots but the training set has 12 samples'):
        bank.set_labels(torch.zeros(12, dtype=torch.long))
    with pytest.raises(RuntimeError, match='CohortMemoryHook'):
        bank.sample(torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ValueError, match='at least two classes'):
        bank.set_labels(torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match='momentum'):
        CohortMemoryBank(num_members=2, num_samples=10, momentum=1.0)
