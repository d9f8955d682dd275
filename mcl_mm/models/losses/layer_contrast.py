"""Layer-wise MCL (MCL_SPEC §3) on top of the MCL terms: which embeddings are contrasted, no new math.

A *view* is one (member, stage) embedding. Every view is scored in one pass (one bank gather + one
matmul, or one in-batch einsum); v1 and v2 then slice the relation stack and hand the slices to
:func:`memory_terms` / :func:`inbatch_terms`.

* v1: the M members' views of the same stage form one MCL cohort; the terms are returned per stage.
* v2: every ordered pair of views of *different* members ((i, k), (j, z)), i != j, forms a two-member
  cohort whose terms are weighted per anchor by that pair's weight; the terms are summed over pairs.

v1's stage cohorts are evaluated together, as a leading dim of the term functions; v2's pairs one by one.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .contrastive import MCL_TERMS, inbatch_terms, memory_relations, memory_terms

View = Tuple[int, int]  # (member, stage)


def cross_member_pairs(stages_per_member: Sequence[int]) -> List[Tuple[View, View]]:
    """Ordered pairs of views of different members, in the order of the weight network's output."""
    pairs = []
    for i, stages_i in enumerate(stages_per_member):
        for j, stages_j in enumerate(stages_per_member):
            if i != j:
                pairs += [((i, k), (j, z)) for k in range(stages_i) for z in range(stages_j)]
    return pairs


def _view_relations(views: Sequence[Sequence[Tensor]], tau: float, memories=None, pos_idx=None, neg_idx=None):
    """All views stacked (V, B, D) and scored: in-batch (V, V, B, B) or against the banks (M, V, B, K)."""
    anchors = torch.stack([v for member_views in views for v in member_views])
    if memories is None:
        return torch.einsum('ibd,jcd->ijbc', anchors, anchors) / tau
    return memory_relations(memories, pos_idx, neg_idx, anchors, tau)


def layerwise_contrast_losses(views: Sequence[Sequence[Tensor]],
                              labels: Tensor,
                              mode: str,
                              tau: float,
                              kl_temperature: float = 3.0,
                              pair_weights: Optional[Tensor] = None,
                              memories: Union[Tensor, Sequence[Tensor], None] = None,
                              pos_idx: Optional[Tensor] = None,
                              neg_idx: Optional[Tensor] = None) -> Union[List[Dict[str, Tensor]], Dict[str, Tensor]]:
    """Stage-wise MCL terms.

    Args:
        views: ``views[i][k]`` (B, D), L2-normalised embedding of stage k of member i (final stage last).
        labels: (B,) class labels (used by the in-batch path).
        mode: ``'v1'`` (same-stage cohorts) or ``'v2'`` (every cross-member stage pair, weighted).
        pair_weights: v2 only, (P, B) per-anchor weights in :func:`cross_member_pairs` order.
        memories / pos_idx / neg_idx: the bank path (MCL_SPEC §2a): member i's views contrast against
            bank i; ``None`` selects the in-batch path (§2b).

    Returns:
        v1: one dict of the four terms per stage. v2: one dict of the four terms summed over pairs.
    """
    num_members = len(views)
    stages = [len(member_views) for member_views in views]
    offsets = [sum(stages[:i]) for i in range(num_members)]
    relations = _view_relations(views, tau, memories, pos_idx, neg_idx)
    on_bank = memories is not None

    def grouped_terms(groups: List[List[View]], anchor_weights=None) -> Dict[str, Tensor]:
        """The MCL terms of several small cohorts at once: one gather of their (G, M', M', B, C) relations."""
        members = torch.tensor([[i for i, _ in group] for group in groups], device=relations.device)
        cols = torch.tensor([[offsets[i] + k for i, k in group] for group in groups], device=relations.device)
        # Bank relations are (bank, view): rows pick the members' banks; in-batch ones are (view, view).
        rows = members if on_bank else cols
        sub = relations[rows[:, :, None], cols[:, None, :]]
        if on_bank:
            return memory_terms(sub, pos_idx.shape[1], kl_temperature, anchor_weights)
        return inbatch_terms(sub, labels, kl_temperature, anchor_weights)

    if mode == 'v1':
        if len(set(stages)) != 1:
            raise ValueError(f'L-MCL v1 contrasts members stage by stage and needs the same number of stages '
                             f'for every member, got {stages}; use mode="v2" for members of different depth')
        per_stage = grouped_terms([[(i, k) for i in range(num_members)] for k in range(stages[0])])
        return [{key: per_stage[key][k] for key in MCL_TERMS} for k in range(stages[0])]
    if mode != 'v2':
        raise ValueError(f'L-MCL mode must be "v1" or "v2", got {mode!r}')
    pairs = cross_member_pairs(stages)
    if pair_weights is None or pair_weights.shape[0] != len(pairs):
        got = None if pair_weights is None else tuple(pair_weights.shape)
        raise ValueError(f'L-MCL v2 needs pair_weights of shape ({len(pairs)}, B), got {got}')
    # One pair at a time: batching the pairs gathers every view's blocks once per pair it is in, and the
    # backward of that duplicated gather made v2 25 % slower on CPU (bench_lmcl, 64 px, B 32, neg_k 4096).
    total = {key: 0.0 for key in MCL_TERMS}
    for weights, pair in zip(pair_weights, pairs):
        pair_terms = grouped_terms([list(pair)], weights[None])
        total = {key: total[key] + pair_terms[key][0] for key in MCL_TERMS}
    return total
