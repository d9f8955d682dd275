"""Test-time augmentation for cohorts (``tools/test.py --tta``)."""
from typing import List

import torch
from mmpretrain.models.tta import AverageClsScoreTTA
from mmpretrain.structures import DataSample

from mcl_mm.registry import MODELS

# Per-sample score fields a cohort's predict writes besides pred_score (see CohortAccuracy).
COHORT_SCORE_FIELDS = ('member_scores', 'aggregate_scores')


@MODELS.register_module()
class AverageCohortScoreTTA(AverageClsScoreTTA):
    """mmpretrain's score-averaging TTA, extended to every member: ``pred_score`` (the ensemble),
    ``member_scores`` and, for L-MCL v2, ``aggregate_scores`` are each averaged over the augmented views.
    (mmpretrain's own TTA would keep the first view's member scores.) ``stage_scores`` are averaged per member.

    Args:
        module (dict or nn.Module): The wrapped cohort model (config or module).
        data_preprocessor (dict or nn.Module, optional): Data preprocessor of the TTA model. Defaults to None.
    """

    def _merge_single_sample(self, data_samples: List[DataSample]) -> DataSample:
        merged = super()._merge_single_sample(data_samples)
        for field in COHORT_SCORE_FIELDS:
            if field in data_samples[0]:
                merged.set_field(torch.stack([s.get(field) for s in data_samples]).mean(0), field, dtype=torch.Tensor)
        if 'stage_scores' in data_samples[0]:
            per_member = zip(*[s.stage_scores for s in data_samples])
            merged.set_field([torch.stack(views).mean(0) for views in per_member], 'stage_scores')
        return merged
