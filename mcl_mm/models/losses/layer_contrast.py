"""Layer-wise MCL (docs/method.md §3) on top of the MCL terms: which embeddings are contrasted, no new math.

L-MCL, the layer-wise extension of MCL in Yang et al., "Online Knowledge Distillation via Mutual Contrastive
Learning for Visual Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518).

A *view* is one (member, stage) embedding. Every view is scored in one pass (one bank gather + one matmul,
or one in-batch einsum) into relation *blocks*: (bank g, view v) rows of logits on the bank path, (view x,
view y) on the in-batch path. Each block's per-anchor NLL (:func:`per_anchor_nll`) and the KL of every
ordered pair of blocks (:func:`block_kl_matrix`, one log-softmax per block and one batched matmul) are
computed once; the two modes only choose which blocks and block pairs to sum:

* v1: the M members' views of the same stage form one MCL cohort; the terms are returned per stage.
* v2: every ordered pair of views of *different* members ((i, k), (j, z)), i != j, forms a two-member
  cohort whose terms are weighted per anchor by that pair's weight; the terms are summed over pairs.

Both equal :func:`memory_terms` / :func:`inbatch_terms` applied cohort by cohort (tests check against naive
per-sample loops), without a loop over cohorts or pairs.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from mcl_mm.utils.errors import ConfigError
from ..utils.pairs import cross_member_pairs
from .contrastive import (MCL_TERMS, bank_positive_masks, block_kl_matrix, inbatch_positive_masks, memory_relations,
                          per_anchor_nll)

LMCL_MODES = ('v1', 'v2')


def check_lmcl_mode(mode: str, stages: Optional[Sequence[int]] = None) -> None:
    """A known mode; v1 (same-stage cohorts) needs the same number of stages (taps + final) for every member."""
    if mode not in LMCL_MODES:
        raise ConfigError(f'L-MCL mode must be one of {LMCL_MODES}, got {mode!r}')
    if mode == 'v1' and stages is not None and len(set(stages)) != 1:
        raise ConfigError(f'L-MCL v1 needs the same number of taps for every member, got stages {list(stages)}; '
                          'use mode="v2" for members of different depth')


def _view_relations(views: Sequence[Sequence[Tensor]],
                    tau: float,
                    memories=None,
                    pos_idx=None,
                    neg_idx=None,
                    fused: bool = False):
    """All views stacked (V, B, D) and scored: in-batch (V, V, B, B) or against the banks (M, V, B, K)."""
    anchors = torch.stack([v for member_views in views for v in member_views])
    if memories is None:
        return torch.einsum('ibd,jcd->ijbc', anchors, anchors) / tau
    return memory_relations(memories, pos_idx, neg_idx, anchors, tau, fused=fused)


class _Blocks:
    """Per-block statistics of a relation stack and the block indices of the MCL roles.

    ``icl(a, b)``: the block scoring view b's embedding against the candidates seen from view a (bank path:
    the bank of a's member; in-batch: view a). ``vcl(a)``: view a against its own candidates (own bank, own
    slot dropped; in-batch: S_aa). NLLs are per anchor, (N, B); KLs are (B, N_student, N_teacher).
    """

    def __init__(self, relations: Tensor, owner: Tensor, labels: Tensor, kl_temperature: float, num_pos: Optional[int]):
        self.owner, self.num_views, self.batch = owner, len(owner), relations.shape[-2]
        self.on_bank = num_pos is not None
        if self.on_bank:
            num_banks, _, batch, num_candidates = relations.shape
            icl_pos, vcl_pos = bank_positive_masks(relations, num_pos)
            blocks = relations.reshape(num_banks * self.num_views, batch, num_candidates)
            self.icl_nll, icl_has_pos = per_anchor_nll(blocks, icl_pos)
            self.icl_kl = block_kl_matrix(blocks, kl_temperature)
            own = relations[owner, torch.arange(self.num_views, device=relations.device), :, 1:]  # (V, B, K - 1)
            self.vcl_nll, vcl_has_pos = per_anchor_nll(own, vcl_pos)
            self.vcl_kl = block_kl_matrix(own, kl_temperature)
        else:
            batch = relations.shape[-1]
            blocks = relations.reshape(self.num_views**2, batch, batch)
            self.icl_nll, icl_has_pos = per_anchor_nll(blocks, *inbatch_positive_masks(labels))
            self.icl_kl = block_kl_matrix(blocks, kl_temperature)
            self.vcl_nll, self.vcl_kl, vcl_has_pos = self.icl_nll, self.icl_kl, icl_has_pos
        self.icl_anchors = icl_has_pos.sum().clamp(min=1)
        self.vcl_anchors = vcl_has_pos.sum().clamp(min=1)

    def icl(self, a: Tensor, b: Tensor) -> Tensor:
        return (self.owner[a] if self.on_bank else a) * self.num_views + b

    def vcl(self, a: Tensor) -> Tensor:
        return a if self.on_bank else a * (self.num_views + 1)

    def pair_terms(self, a: Tensor, b: Tensor, weights: Tensor) -> Dict[str, Tensor]:
        """ICL, Soft ICL and Soft VCL over ordered view pairs (a[..., p], b[..., p]), a != b, in the direction
        a -> b, each pair's anchors weighted by ``weights`` (..., P, B); summed over pairs and averaged over
        anchors: shape (...)."""
        ab, ba = self.icl(a, b), self.icl(b, a)
        return dict(
            soft_vcl=_weighted_sum(weights, self.vcl_kl[:, self.vcl(a), self.vcl(b)].movedim(0, -1)) / self.batch,
            icl=_weighted_sum(weights, self.icl_nll[ab]) / self.icl_anchors,
            soft_icl=_weighted_sum(weights, self.icl_kl[:, ab, ba].movedim(0, -1)) / self.batch,
        )

    def vcl_term(self, views: Tensor, weights: Tensor) -> Tensor:
        """VCL of ``views[..., p]`` (each against its own candidates), weighted like :meth:`pair_terms`."""
        return _weighted_sum(weights, self.vcl_nll[self.vcl(views)]) / self.vcl_anchors


def _weighted_sum(weights: Tensor, per_anchor: Tensor) -> Tensor:
    """sum over the last two dims (cohort members or pairs, anchors) of weights * values."""
    return (weights * per_anchor).sum((-2, -1))


def layerwise_contrast_losses(views: Sequence[Sequence[Tensor]],
                              labels: Tensor,
                              mode: str,
                              tau: float,
                              kl_temperature: float = 3.0,
                              pair_weights: Optional[Tensor] = None,
                              memories: Union[Tensor, Sequence[Tensor], None] = None,
                              pos_idx: Optional[Tensor] = None,
                              neg_idx: Optional[Tensor] = None,
                              fused: bool = False) -> Union[List[Dict[str, Tensor]], Dict[str, Tensor]]:
    """Stage-wise MCL terms.

    Args:
        views: ``views[i][k]`` (B, D), L2-normalised embedding of stage k of member i (final stage last).
        labels: (B,) class labels (used by the in-batch path).
        mode: ``'v1'`` (same-stage cohorts) or ``'v2'`` (every cross-member stage pair, weighted).
        pair_weights: v2 only, (P, B) per-anchor weights in :func:`cross_member_pairs` order.
        memories / pos_idx / neg_idx: the bank path (docs/method.md §2a): member i's views contrast against
            bank i; ``None`` selects the in-batch path (§2b).
        fused: the gather-dot form of :func:`memory_relations`, for a compiled caller.

    Returns:
        v1: one dict of the four terms per stage. v2: one dict of the four terms summed over pairs.
    """
    num_members = len(views)
    stages = [len(member_views) for member_views in views]
    check_lmcl_mode(mode, stages)
    pairs = cross_member_pairs(stages)
    if mode == 'v2' and (pair_weights is None or pair_weights.shape[0] != len(pairs)):
        got = None if pair_weights is None else tuple(pair_weights.shape)
        raise ValueError(f'L-MCL v2 needs pair_weights of shape ({len(pairs)}, B), got {got}')
    offsets = [sum(stages[:i]) for i in range(num_members)]
    relations = _view_relations(views, tau, memories, pos_idx, neg_idx, fused)
    device = relations.device
    owner = torch.repeat_interleave(torch.arange(num_members, device=device), torch.tensor(stages, device=device))
    blocks = _Blocks(relations, owner, labels, kl_temperature, pos_idx.shape[1] if memories is not None else None)

    if mode == 'v1':
        # Per stage k: ICL and the soft terms over the ordered member pairs (i, j), i != j; VCL per member.
        member_pairs = [(i, j) for i in range(num_members) for j in range(num_members) if i != j]
        a = torch.tensor([[offsets[i] + k for i, _ in member_pairs] for k in range(stages[0])], device=device)
        b = torch.tensor([[offsets[j] + k for _, j in member_pairs] for k in range(stages[0])], device=device)
        own = torch.tensor([[offsets[i] + k for i in range(num_members)] for k in range(stages[0])], device=device)
        terms = blocks.pair_terms(a, b, torch.ones(*a.shape, blocks.batch, device=device, dtype=relations.dtype))
        terms['vcl'] = blocks.vcl_term(own, torch.ones(*own.shape, blocks.batch, device=device, dtype=relations.dtype))
        return [{key: terms[key][k] for key in MCL_TERMS} for k in range(stages[0])]
    # A two-member cohort (a, b) is both directions of the pair: a -> b and b -> a.
    a = torch.tensor([offsets[i] + k for (i, k), _ in pairs], device=device)
    b = torch.tensor([offsets[j] + z for _, (j, z) in pairs], device=device)
    both_a, both_b, both_w = torch.stack([a, b]), torch.stack([b, a]), pair_weights.expand(2, -1, -1)
    terms = blocks.pair_terms(both_a, both_b, both_w)
    terms['vcl'] = blocks.vcl_term(both_a, both_w)
    return {key: terms[key].sum() for key in MCL_TERMS}
