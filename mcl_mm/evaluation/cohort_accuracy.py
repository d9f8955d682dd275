"""Top-k accuracy of every cohort member and of the ensemble, labelled."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.evaluation import Accuracy

from mcl_mm.registry import METRICS


@METRICS.register_module()
class CohortAccuracy(BaseMetric):
    """Reports ``member_<i>/top<k>`` for each member and ``ensemble/top<k>`` (mean of member softmaxes).

    Reads ``member_scores`` (M, C) and ``pred_score`` written by :meth:`MCL.predict`. A plain classifier's
    output (no ``member_scores``) is reported as the ensemble only. L-MCL outputs add
    ``member_<i>/s<k>/top<k>`` for the auxiliary classifier of stage k (``stage_scores``) and
    ``member_<i>/aggregate/top<k>`` for the v2 stage aggregate (``aggregate_scores``);
    ``member_<i>/top<k>`` stays the member's own (exported) classifier.

    Args:
        topk (Sequence[int]): The k of the top-k accuracies; those above the number of classes are left out.
            Defaults to ``(1, 5)``.
        collect_device (str): Device used to collect results across ranks, ``'cpu'`` or ``'gpu'``.
            Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names; None uses ``default_prefix`` (``'cohort'``).
            Defaults to None.
    """

    default_prefix = 'cohort'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            result = dict(gt_label=sample['gt_label'].cpu(), pred_score=sample['pred_score'].cpu())
            for key in ('member_scores', 'aggregate_scores'):
                if key in sample:
                    result[key] = sample[key].cpu()
            if 'stage_scores' in sample:
                result['stage_scores'] = [scores.cpu() for scores in sample['stage_scores']]
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        target = torch.cat([r['gt_label'] for r in results])
        num_classes = results[0]['pred_score'].shape[-1]
        topk = tuple(k for k in self.topk if k <= num_classes)
        metrics = {}
        named_scores = {'ensemble': torch.stack([r['pred_score'] for r in results])}
        if 'member_scores' in results[0]:
            members = torch.stack([r['member_scores'] for r in results])  # (N, M, C)
            named_scores.update({f'member_{i}': members[:, i] for i in range(members.shape[1])})
        if 'stage_scores' in results[0]:
            for i in range(len(results[0]['stage_scores'])):
                stages = torch.stack([r['stage_scores'][i] for r in results])  # (N, S_i - 1, C)
                named_scores.update({f'member_{i}/s{k + 1}': stages[:, k] for k in range(stages.shape[1])})
        if 'aggregate_scores' in results[0]:
            aggregate = torch.stack([r['aggregate_scores'] for r in results])  # (N, M, C)
            named_scores.update({f'member_{i}/aggregate': aggregate[:, i] for i in range(aggregate.shape[1])})
        for name, scores in named_scores.items():
            accs = Accuracy.calculate(scores, target, topk=topk)
            for k, acc in zip(topk, accs):
                metrics[f'{name}/top{k}'] = float(acc[0]) if hasattr(acc, '__len__') else float(acc)
        return metrics
