"""Layer-wise MCL (MCL_SPEC §3) on top of the MCL terms: which embeddings are contrasted, no new math.

A *view* is one (member, stage) embedding. Every view is scored in one pass (one bank gather + one
matmul, or one in-batch einsum); v1 and v2 then slice the relation stack and hand the slices to
:func:`memory_terms` / :func:`inbatch_terms`.

* v1: the M members' views of the same stage form one MCL cohort; the terms are returned per stage.
* v2: every ordered pair of views of *different* members ((i, k), (j, z)), i != j, forms a two-member
  cohort whose terms are weighted per anchor by that pair's weight; the terms are summed over pairs.

v1's stage cohorts are evaluated together, as a leading dim of the term functions. v2 never loops over pairs:
each relation block's per-anchor NLL and log-softmax are computed once and the pairs index into them (the
KLs of all block pairs are one batched matmul).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from .contrastive import (MCL_TERMS, block_kl_matrix, inbatch_terms, memory_relations, memory_terms,
                          per_anchor_nll)

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
    view_a = torch.tensor([offsets[i] + k for (i, k), _ in pairs], device=relations.device)
    view_b = torch.tensor([offsets[j] + z for _, (j, z) in pairs], device=relations.device)
    member_a = torch.tensor([i for (i, _), _ in pairs], device=relations.device)
    member_b = torch.tensor([j for _, (j, _) in pairs], device=relations.device)
    if on_bank:
        return _weighted_pair_terms_bank(relations, pos_idx.shape[1], kl_temperature, pair_weights, view_a,
                                         view_b, member_a, member_b, stages)
    return _weighted_pair_terms_inbatch(relations, labels, kl_temperature, pair_weights, view_a, view_b)


def _pair_sum(per_pair_anchor: Tensor, weights: Tensor, denominator) -> Tensor:
    """sum over pairs p and anchors b of w[p, b] * x[p, b], divided by the anchor count of the mean."""
    return (weights * per_pair_anchor).sum() / denominator


def _weighted_pair_terms_bank(relations, num_pos, kl_temperature, weights, view_a, view_b, member_a, member_b,
                              stages) -> Dict[str, Tensor]:
    """v2 on the bank path without a per-pair loop, equal to :func:`memory_terms` summed over the pairs
    ``[[bank_i . v_a, bank_i . v_b], [bank_j . v_a, bank_j . v_b]]`` with their weights.

    Each (bank, view) block's per-anchor NLL and log-softmax are computed once (G·V blocks, not 4 per pair);
    the Soft-ICL / Soft-VCL KLs of all block pairs come from :func:`block_kl_matrix`.
    """
    num_banks, num_views, batch, num_candidates = relations.shape
    icl_pos = torch.zeros(batch, num_candidates, dtype=torch.bool, device=relations.device)
    icl_pos[:, :num_pos] = True
    blocks = relations.reshape(num_banks * num_views, batch, num_candidates)
    icl_nll, icl_has_pos = per_anchor_nll(blocks, icl_pos)  # (G*V, B)
    icl_kl = block_kl_matrix(blocks, kl_temperature)  # (B, G*V, G*V)
    # VCL blocks: each view against its own member's bank, own slot dropped.
    owner = torch.repeat_interleave(torch.arange(len(stages), device=relations.device),
                                    torch.tensor(stages, device=relations.device))
    own = relations[owner, torch.arange(num_views, device=relations.device), :, 1:]  # (V, B, K - 1)
    vcl_pos = icl_pos[:, 1:].clone()
    vcl_pos[:, num_pos - 1:] = False
    vcl_nll, vcl_has_pos = per_anchor_nll(own, vcl_pos)  # (V, B)
    vcl_kl = block_kl_matrix(own, kl_temperature)  # (B, V, V)

    ib, ja = member_a * num_views + view_b, member_b * num_views + view_a  # bank_i . v_b and bank_j . v_a
    return dict(
        vcl=_pair_sum(vcl_nll[view_a] + vcl_nll[view_b], weights, vcl_has_pos.sum().clamp(min=1)),
        soft_vcl=_pair_sum((vcl_kl[:, view_a, view_b] + vcl_kl[:, view_b, view_a]).t(), weights, batch),
        icl=_pair_sum(icl_nll[ib] + icl_nll[ja], weights, icl_has_pos.sum().clamp(min=1)),
        soft_icl=_pair_sum((icl_kl[:, ib, ja] + icl_kl[:, ja, ib]).t(), weights, batch),
    )


def _weighted_pair_terms_inbatch(relations, labels, kl_temperature, weights, view_a, view_b) -> Dict[str, Tensor]:
    """v2 on the in-batch path without a per-pair loop, equal to :func:`inbatch_terms` summed over the pairs
    ``[[S_aa, S_ab], [S_ba, S_bb]]`` with their weights (each of the V^2 blocks is computed once)."""
    num_views, batch = relations.shape[0], relations.shape[-1]
    not_self = ~torch.eye(batch, dtype=torch.bool, device=relations.device)
    same_class = labels.view(-1, 1) == labels.view(1, -1)
    blocks = relations.reshape(num_views * num_views, batch, batch)
    nll, has_pos = per_anchor_nll(blocks, same_class & not_self, not_self)  # (V*V, B)
    kl = block_kl_matrix(blocks, kl_temperature)  # (B, V*V, V*V)
    ab, ba = view_a * num_views + view_b, view_b * num_views + view_a
    aa, bb = view_a * (num_views + 1), view_b * (num_views + 1)
    anchors = has_pos.sum().clamp(min=1)
    return dict(
        vcl=_pair_sum(nll[aa] + nll[bb], weights, anchors),
        soft_vcl=_pair_sum((kl[:, aa, bb] + kl[:, bb, aa]).t(), weights, batch),
        icl=_pair_sum(nll[ab] + nll[ba], weights, anchors),
        soft_icl=_pair_sum((kl[:, ab, ba] + kl[:, ba, ab]).t(), weights, batch),
    )
