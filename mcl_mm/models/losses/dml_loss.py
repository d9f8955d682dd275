"""Deep Mutual Learning's mimicry term: the online-KD baseline MCL is compared to (docs/method.md §2d).

Zhang et al., "Deep Mutual Learning", CVPR 2018 (https://arxiv.org/abs/1706.00384), Eq. 10; the baseline of
Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual Recognition", TPAMI 2023
(https://arxiv.org/abs/2207.11518).
"""
from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mcl_mm.registry import MODELS
from ..utils.checks import check_temperature, check_weight
from .contrastive import member_kl
from .mcl_loss import deprecated_temperature_key


def deep_mutual_kl(logits: Sequence[Tensor], temperature: float = 1.0) -> Tensor:
    """Sum over members i of the mean over the other members j of T² · KL(p_j || p_i), p_j detached.

    Each member mimics every peer's (detached) softened prediction; the 1/(M-1) keeps the term's scale
    independent of the cohort size (DML Eq. 10). Batch-averaged.
    """
    if len(logits) < 2:
        raise ValueError(f'DML needs at least 2 members, got {len(logits)}')
    return member_kl(torch.stack(list(logits)), temperature) / (len(logits) - 1)


@MODELS.register_module()
class DMLLoss(BaseModule):
    """Weighted :func:`deep_mutual_kl`.

    Args:
        kl_temperature (float): T of the softened predictions (1 in the DML paper; the name MCL uses). The old
            key ``temperature`` still works, with a FutureWarning. Defaults to 1.0.
        loss_weight (float): Weight of the mimicry term against each member's CE (1 in the DML paper).
            Defaults to 1.0.
    """

    def __init__(self, kl_temperature: float = 1.0, loss_weight: float = 1.0, **deprecated):
        super().__init__()
        kl_temperature = deprecated_temperature_key(deprecated, kl_temperature, 'DMLLoss')
        check_temperature(kl_temperature, 'kl_temperature', 'DMLLoss')
        check_weight(loss_weight, 'loss_weight', 'DMLLoss')
        self.kl_temperature = kl_temperature
        self.loss_weight = loss_weight

    def forward(self, logits: Sequence[Tensor]) -> Tensor:
        return self.loss_weight * deep_mutual_kl(logits, self.kl_temperature)
