"""MCL on MoCo (self-supervised): the four terms of a cohort of MoCo members, each with its own key queue.

The VCL / ICL / Soft VCL / Soft ICL terms of Yang et al., "Online Knowledge Distillation via Mutual Contrastive
Learning for Visual Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518), on MoCo relations.

Member m has a query embedding q_m, a momentum key k_m of the other view and a queue Q_m of K past keys (all
L2-normalised). The relation logits are

    R[i, j] = [q_i . k_j, q_i . Q_j^T] / tau            (B, 1 + K): column 0 the positive,

and with the helpers of :mod:`.contrastive` (InfoNCE = :func:`multi_positive_nll` with one positive,
KL(s || t) = :func:`kl_div_with_temperature`, T^2 scaled, batch mean, target detached):

* VCL      = sum_m InfoNCE(R[m, m])                     (each member's own MoCo loss);
* ICL      = sum_{i != j} InfoNCE(R[i, j])              (the query of i against the key and queue of j);
* Soft VCL = sum_{m != m'} KL(R[m, m] || R[m', m'])     (each member's own distribution, peers as targets);
* Soft ICL = sum_{i != j} KL(R[i, j] || R[j, i])        (both directions of every unordered pair).

Keys and queues never receive gradient (keys come from the momentum encoders; queues are buffers).
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from ..utils.checks import checked_objective
from .contrastive import MCL_TERMS, member_diagonal, member_kl, multi_positive_nll, pairwise_kl

MOCO_MCL_DEFAULT_WEIGHTS = dict(vcl=1.0, icl=1.0, soft_vcl=1.0, soft_icl=1.0)


def _check_inputs(queries: Sequence[Tensor], keys: Sequence[Tensor], queues: Tensor) -> None:
    if len(queries) < 2 or len(keys) != len(queries):
        raise ValueError(f'MoCo MCL needs a cohort of at least 2 members with one key batch each, got '
                         f'{len(queries)} query and {len(keys)} key batches')
    if queues.dim() != 3 or queues.shape[0] != len(queries) or queues.shape[-1] != queries[0].shape[-1]:
        raise ValueError(f'queues must be (M={len(queries)}, K, D={queries[0].shape[-1]}), got {tuple(queues.shape)}')


def moco_relations(queries: Sequence[Tensor],
                   keys: Sequence[Tensor],
                   queues: Tensor,
                   tau: float,
                   cross: bool = True) -> Tensor:
    """Logits of every query against every member's positive key and queue.

    Args:
        queries, keys: M tensors (B, D), L2-normalised; keys are detached here.
        queues: (M, K, D), rows L2-normalised, detached here.
        cross: all pairs, (M, M, B, 1 + K) with ``out[i, j] = R[i, j]``; ``False``: the members' own
            relations only, (M, B, 1 + K) with ``out[m] = R[m, m]`` (what VCL / Soft VCL read).
    """
    q = torch.stack(list(queries))  # (M, B, D)
    k = torch.stack([key.detach() for key in keys]).to(q.dtype)
    bank = queues.detach().to(q.dtype)
    if cross:
        pos = torch.einsum('ibd,jbd->ijb', q, k).unsqueeze(-1)  # (M, M, B, 1)
        neg = torch.einsum('ibd,jkd->ijbk', q, bank)  # (M, M, B, K)
    else:
        pos = (q * k).sum(-1, keepdim=True)  # (M, B, 1)
        neg = torch.bmm(q, bank.transpose(1, 2))  # (M, B, K)
    return torch.cat([pos, neg], dim=-1) / tau


def _infonce(logits: Tensor) -> Tensor:
    """MoCo's InfoNCE (cross-entropy with the positive in column 0), per leading index: (...)."""
    positive = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    positive[0] = True
    return multi_positive_nll(logits, positive.expand(logits.shape[-2], -1))


def moco_terms(relations: Tensor, kl_temperature: float, cross: bool = True) -> Dict[str, Tensor]:
    """The MCL terms from :func:`moco_relations`: all four when ``cross``, else ``vcl`` and ``soft_vcl``."""
    own = member_diagonal(relations) if cross else relations  # (M, B, 1 + K)
    terms = dict(vcl=_infonce(own).sum(), soft_vcl=member_kl(own, kl_temperature))
    if cross:
        nll = _infonce(relations)  # (M, M)
        eye = torch.eye(nll.shape[0], dtype=torch.bool, device=nll.device)
        terms['icl'] = nll.masked_fill(eye, 0.0).sum()
        terms['soft_icl'] = pairwise_kl(relations, kl_temperature)
    return terms


def moco_contrast_losses(queries: Sequence[Tensor],
                         keys: Sequence[Tensor],
                         queues: Tensor,
                         tau: float = 0.07,
                         kl_temperature: float = 3.0) -> Dict[str, Tensor]:
    """The four MCL terms of a MoCo cohort (module docstring): scalars ``vcl``, ``soft_vcl``, ``icl``, ``soft_icl``.

    Args:
        queries: M tensors (B, D), L2-normalised (they carry the gradient).
        keys: M tensors (B, D), L2-normalised momentum-encoder keys of the other view.
        queues: (M, K, D), member m's negatives in ``queues[m]``, rows L2-normalised.
        tau: contrast temperature (0.07 in the authors' runs).
        kl_temperature: T of Soft VCL / Soft ICL (3).
    """
    _check_inputs(queries, keys, queues)
    return moco_terms(moco_relations(queries, keys, queues, tau), kl_temperature)


@MODELS.register_module()
class MoCoMCLLoss(BaseModule):
    """Weighted MCL terms of a MoCo cohort (:func:`moco_contrast_losses`).

    Args:
        loss_weights (dict, optional): Any of ``vcl`` (alpha), ``icl`` (beta), ``soft_vcl`` (gamma),
            ``soft_icl`` (lambda); missing keys take the authors' MoCo weights, all 1 (their main_moco_mcl.py
            sums the four terms); unknown keys and all-zero weights are an error. With every weight but ``vcl``
            at 0 the cohort is M independent MoCo runs (the baseline), and the cross-member relations are not
            computed. Defaults to None.
        tau (float): Contrast temperature. Defaults to 0.07.
        kl_temperature (float): T of the soft terms. Defaults to 3.0.
    """

    def __init__(self, loss_weights: Optional[dict] = None, tau: float = 0.07, kl_temperature: float = 3.0):
        super().__init__()
        self.loss_weights = checked_objective(loss_weights, MOCO_MCL_DEFAULT_WEIGHTS, tau, kl_temperature,
                                              'MoCoMCLLoss')
        if all(w == 0 for w in self.loss_weights.values()):
            raise ConfigError('MoCoMCLLoss: every loss weight is 0, nothing would be trained')
        self.tau = tau
        self.kl_temperature = kl_temperature

    @property
    def uses_cross_relations(self) -> bool:
        """ICL or Soft ICL is on: the M x M relations are needed, not only each member's own."""
        return self.loss_weights['icl'] != 0 or self.loss_weights['soft_icl'] != 0

    def forward(self, queries: Sequence[Tensor], keys: Sequence[Tensor], queues: Tensor) -> Dict[str, Tensor]:
        """Weighted terms keyed ``loss_<term>`` (terms at weight 0 are left out)."""
        _check_inputs(queries, keys, queues)
        cross = self.uses_cross_relations
        terms = moco_terms(
            moco_relations(queries, keys, queues, self.tau, cross=cross), self.kl_temperature, cross=cross)
        return {f'loss_{k}': self.loss_weights[k] * terms[k] for k in MCL_TERMS if self.loss_weights[k] != 0}
