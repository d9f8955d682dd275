"""A cohort of mmpretrain classifiers trained together: the part every online-distillation algorithm shares
(members, an optional shared trunk, per-member CE, ensemble prediction). MCL and DML add their objectives.

The cohort of Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual
Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518): M networks trained together from scratch, each
with its own classifier, predicting as an ensemble (docs/method.md §1).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from ..utils.checks import check_cohort_size

MEMBER_KEYS = {'backbone', 'neck', 'head', 'train_cfg', 'init_cfg', 'type'}


def member_configs(members, num_members, algorithm: str) -> List[dict]:
    """Validated per-member configs: a list, or one config repeated ``num_members`` times."""
    if isinstance(members, dict):
        if num_members is None:
            raise ConfigError(f'{algorithm}: give `members` as a list of member configs, or one config with '
                              '`num_members`')
        members = [copy.deepcopy(members) for _ in range(num_members)]
    elif num_members is not None and num_members != len(members):
        raise ConfigError(f'{algorithm}: num_members={num_members} disagrees with the {len(members)} member configs')
    check_cohort_size(len(members), algorithm)
    configs = []
    for i, member in enumerate(members):
        member = copy.deepcopy(dict(member))
        unknown = set(member) - MEMBER_KEYS
        if unknown:
            raise KeyError(f'{algorithm} member {i}: unknown keys {sorted(unknown)}; a member takes '
                           f'{sorted(MEMBER_KEYS)}')
        member.setdefault('type', 'ImageClassifier')
        configs.append(member)
    return configs


class CohortClassifier(BaseModel):
    """M mmpretrain classifiers stored as ``members.<i>`` (so a member's backbone lives under
    ``members.<i>.backbone.`` in every checkpoint, the prefix transfer configs use).

    Args:
        members (dict or list[dict]): Member configs (``backbone``, ``neck``, ``head``, optional ``type``
            (default ``'ImageClassifier'``), ``train_cfg``, ``init_cfg``), or one config repeated
            ``num_members`` times. Members may be heterogeneous.
        num_members (int, optional): Cohort size when ``members`` is a single config; if given with a list,
            it must match its length. Defaults to None.
        shared_trunk (list[str], optional): Backbone sub-modules shared by all members, by name or dotted
            path (``['conv1', 'bn1', 'layer1']``, ``['conv1', 'layers.0']``): the authors' multi-branch x4
            networks. Member backbones must be identical then. Defaults to None (nothing shared).
        data_preprocessor (dict, optional): Data preprocessor config; ``type`` defaults to mmpretrain's
            ``ClsDataPreprocessor``. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        member_cfgs = member_configs(members, num_members, type(self).__name__)
        self.members = nn.ModuleList([MODELS.build(cfg) for cfg in member_cfgs])
        self.num_members = len(self.members)
        self.shared_trunk = tuple(shared_trunk or ())
        if self.shared_trunk:
            self._share_trunk(member_cfgs)

    def _share_trunk(self, member_cfgs) -> None:
        name = type(self).__name__
        if any(cfg['backbone'] != member_cfgs[0]['backbone'] for cfg in member_cfgs):
            raise ConfigError(f'{name} shared_trunk needs identical member backbones')
        first = self.members[0].backbone
        for path in self.shared_trunk:  # 'layer1', or a dotted path into a container: 'layers.0'
            try:
                shared = first.get_submodule(path)
            except AttributeError:
                raise ConfigError(f'{name} shared_trunk: the backbone has no sub-module {path!r}') from None
            parent, _, attr = path.rpartition('.')
            for member in self.members[1:]:
                setattr(member.backbone.get_submodule(parent) if parent else member.backbone, attr, shared)

    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return [member.head(member.extract_feat(inputs)) for member in self.members]
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> Dict[str, Tensor]:
        raise NotImplementedError

    def member_ce_losses(self, logits: Sequence[Tensor], data_samples: List[DataSample]) -> Dict[str, Tensor]:
        """Each member head's own loss (its CE config: label smoothing etc.), keyed ``loss_ce_m<i>``."""
        losses = {}
        for i, (member, member_logits) in enumerate(zip(self.members, logits)):
            for key, value in member.head._get_loss(member_logits, data_samples).items():
                losses[f"{'loss_ce' if key == 'loss' else key}_m{i}"] = value
        return losses

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Ensemble prediction (mean of member softmaxes) in ``pred_score``; each member's scores in
        ``member_scores`` (M, C) for :class:`CohortAccuracy`."""
        logits = [member.head(member.extract_feat(inputs)) for member in self.members]
        return self.pack_predictions(logits, data_samples)

    @staticmethod
    def pack_predictions(logits: Sequence[Tensor], data_samples: Optional[List[DataSample]]) -> List[DataSample]:
        """The members' final logits as predictions: the ensemble (mean of the softmaxes) in ``pred_score`` /
        ``pred_label``, each member's scores in ``member_scores`` (M, C)."""
        scores = torch.stack([z.softmax(dim=1) for z in logits], dim=1)  # (B, M, C)
        ensemble = scores.mean(1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.shape[0])]
        for sample, member_scores, score in zip(data_samples, scores, ensemble):
            sample.set_pred_score(score).set_pred_label(score.argmax(keepdim=True))
            sample.set_field(member_scores, 'member_scores', dtype=torch.Tensor)
        return data_samples
