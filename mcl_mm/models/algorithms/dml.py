"""Deep Mutual Learning (DML): the online knowledge-distillation baseline for MCL.

Zhang et al., "Deep Mutual Learning", CVPR 2018 (https://arxiv.org/abs/1706.00384), the baseline that Yang et
al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual Recognition", TPAMI 2023
(https://arxiv.org/abs/2207.11518) compares MCL with (docs/method.md §2d).

Each member minimises its CE plus the KL divergence from every peer's detached prediction; no embedding
heads, no memory bank. Same members, data and schedule as an MCL config, so the two compare directly.
"""
from typing import Dict, List, Optional, Sequence, Union

from mmpretrain.structures import DataSample
from torch import Tensor

from mcl_mm.registry import MODELS
from .cohort import CohortClassifier


@MODELS.register_module()
class DML(CohortClassifier):
    """A :class:`CohortClassifier` trained with DML's mutual KL.

    Args:
        members (dict or list[dict]): Member configs, see :class:`CohortClassifier`.
        num_members (int, optional): Cohort size when ``members`` is a single config. Defaults to None.
        loss (dict, optional): :class:`DMLLoss` options (``temperature``, ``loss_weight``). Defaults to None
            (T = 1, weight 1, as the DML paper).
        shared_trunk (list[str], optional): Backbone sub-modules shared by all members, see
            :class:`CohortClassifier`. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config. Defaults to None (mmpretrain's
            ``ClsDataPreprocessor``).
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 loss: Optional[dict] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            members=members,
            num_members=num_members,
            shared_trunk=shared_trunk,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.loss_module = MODELS.build(dict(type='DMLLoss', **(loss or {})))

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> Dict[str, Tensor]:
        logits = [member.head(member.extract_feat(inputs)) for member in self.members]
        losses = self.member_ce_losses(logits, data_samples)
        losses['loss_dml'] = self.loss_module(logits)
        return losses
