"""Deep Mutual Learning (Zhang et al., CVPR 2018): the online knowledge-distillation baseline for MCL.

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
        members, num_members, shared_trunk, data_preprocessor: as :class:`CohortClassifier`.
        loss: :class:`DMLLoss` options (``temperature``, ``loss_weight``).
    """

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 loss: Optional[dict] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(members, num_members, shared_trunk, data_preprocessor, init_cfg)
        self.loss_module = MODELS.build(dict(type='DMLLoss', **(loss or {})))

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> Dict[str, Tensor]:
        logits = [member.head(member.extract_feat(inputs)) for member in self.members]
        losses = self.member_ce_losses(logits, data_samples)
        losses['loss_dml'] = self.loss_module(logits)
        return losses
