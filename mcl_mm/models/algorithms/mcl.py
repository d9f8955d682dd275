"""Mutual Contrastive Learning: a cohort of classifiers trained together (docs/method.md §1-2)."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from mcl_mm.registry import MODELS

MEMBER_KEYS = {'backbone', 'neck', 'head', 'train_cfg', 'init_cfg', 'type'}


def _member_configs(members, num_members) -> List[dict]:
    if isinstance(members, dict):
        if num_members is None:
            raise ValueError('MCL: give `members` as a list of member configs, or one config with `num_members`')
        members = [copy.deepcopy(members) for _ in range(num_members)]
    elif num_members is not None and num_members != len(members):
        raise ValueError(f'MCL: num_members={num_members} disagrees with the {len(members)} member configs')
    if len(members) < 2:
        raise ValueError(f'MCL needs a cohort of at least 2 members, got {len(members)}')
    configs = []
    for i, member in enumerate(members):
        member = copy.deepcopy(dict(member))
        unknown = set(member) - MEMBER_KEYS
        if unknown:
            raise KeyError(f'MCL member {i}: unknown keys {sorted(unknown)}; a member takes {sorted(MEMBER_KEYS)}')
        member.setdefault('type', 'ImageClassifier')
        configs.append(member)
    return configs


@MODELS.register_module()
class MCL(BaseModel):
    """A cohort of M mmpretrain classifiers with per-member embedding heads and the MCL objective.

    Members are full ``ImageClassifier``s stored as ``members.<i>``, so a member's backbone lives under
    ``members.<i>.backbone.`` in every checkpoint (the prefix used by transfer configs). Members may be
    heterogeneous (any mmpretrain backbone / neck / head).

    Args:
        members: list of member configs (``backbone``, ``neck``, ``head``), or one config + ``num_members``.
        num_members: cohort size when ``members`` is a single config.
        embed_head: config of the per-member embedding head; ``in_channels`` defaults to the member's
            classifier ``in_channels``.
        loss: config of :class:`MCLLoss` (weights, temperatures, optional logit KD).
        memory: config of :class:`CohortMemoryBank` (ImageNet path). ``None`` selects the in-batch CIFAR
            path, which wants an M-per-class sampler.
        shared_trunk: backbone attribute names shared by all members (e.g. ``['conv1', 'bn1', 'layer1',
            'layer2']``): the authors' multi-branch ×4 network. Members must be identical then.
        data_preprocessor: defaults to mmpretrain's ``ClsDataPreprocessor``.
    """

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 embed_head: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 memory: Optional[dict] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        member_cfgs = _member_configs(members, num_members)
        self.members = nn.ModuleList([MODELS.build(cfg) for cfg in member_cfgs])
        self.num_members = len(self.members)

        self.loss_module = MODELS.build(dict(type='MCLLoss', **(loss or {})))
        # With every contrastive weight at 0 the cohort is the independent baseline: no heads, no bank.
        self.embed_heads = self._build_embed_heads(embed_head) if self.loss_module.uses_contrast else None
        self.memory = None
        if memory is not None:
            if not self.loss_module.uses_contrast:
                raise ValueError('MCL: a memory bank is configured but every contrastive loss weight is 0; '
                                 'set model.memory=None for an independent baseline')
            memory = dict(memory)
            memory.setdefault('type', 'CohortMemoryBank')
            memory.setdefault('num_members', self.num_members)
            memory.setdefault('feat_dim', self.embed_heads[0].out_channels)
            self.memory = MODELS.build(memory)
            if self.memory.num_members != self.num_members:
                raise ValueError(f'memory.num_members={self.memory.num_members} but the cohort has '
                                 f'{self.num_members} members')
        self.shared_trunk = tuple(shared_trunk or ())
        if self.shared_trunk:
            self._share_trunk(member_cfgs)

    def _build_embed_heads(self, embed_head: Optional[dict]) -> nn.ModuleList:
        embed_head = dict(embed_head or dict(type='ContrastEmbedHead'))
        heads = []
        for i, member in enumerate(self.members):
            cfg = copy.deepcopy(embed_head)
            if 'in_channels' not in cfg:
                if not hasattr(member.head, 'in_channels'):
                    raise ValueError(f'MCL member {i}: set embed_head.in_channels (its head has no in_channels)')
                cfg['in_channels'] = member.head.in_channels
            heads.append(MODELS.build(cfg))
        return nn.ModuleList(heads)

    def _share_trunk(self, member_cfgs) -> None:
        if any(cfg['backbone'] != member_cfgs[0]['backbone'] for cfg in member_cfgs):
            raise ValueError('MCL shared_trunk needs identical member backbones')
        first = self.members[0].backbone
        for name in self.shared_trunk:
            if not isinstance(getattr(first, name, None), nn.Module):
                raise ValueError(f'MCL shared_trunk: the backbone has no sub-module {name!r}')
            for member in self.members[1:]:
                setattr(member.backbone, name, getattr(first, name))

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return [member.head(member.extract_feat(inputs)) for member in self.members]
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, predict and tensor mode')

    def _member_outputs(self, inputs: Tensor):
        """Per member: classifier logits and (when contrast is on) the L2-normalised embedding."""
        logits, embeddings = [], []
        for i, member in enumerate(self.members):
            feats = member.extract_feat(inputs)
            logits.append(member.head(feats))
            if self.embed_heads is not None:
                embeddings.append(self.embed_heads[i](member.head.pre_logits(feats)))
        return logits, embeddings

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> Dict[str, Tensor]:
        logits, embeddings = self._member_outputs(inputs)
        losses = {}
        for i, (member, member_logits) in enumerate(zip(self.members, logits)):
            for key, value in member.head._get_loss(member_logits, data_samples).items():
                losses[f"{'loss_ce' if key == 'loss' else key}_m{i}"] = value

        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        indices, bank = self._bank_inputs(data_samples, labels)
        losses.update(self.loss_module(embeddings, labels, logits=logits, **bank))
        if self.memory is not None:
            # The update writes the anchors' slots after the loss has read the (gathered copies of the) banks.
            self.memory.update(indices, embeddings)
        return losses

    def _bank_inputs(self, data_samples: List[DataSample], labels: Tensor):
        """Dataset indices and the bank arguments of the contrast (``{}`` on the in-batch path)."""
        if self.memory is None:
            return None, {}
        indices = torch.as_tensor([s.sample_idx for s in data_samples], dtype=torch.long, device=labels.device)
        pos_idx, neg_idx = self.memory.sample(indices, labels)
        return indices, dict(memories=self.memory.banks, pos_idx=pos_idx, neg_idx=neg_idx)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Ensemble prediction (mean of member softmaxes) in ``pred_score``; each member's scores in
        ``member_scores`` (M, C) for :class:`CohortAccuracy`."""
        scores = torch.stack([
            member.head(member.extract_feat(inputs)).softmax(dim=1) for member in self.members
        ], dim=1)  # (B, M, C)
        ensemble = scores.mean(1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.shape[0])]
        for sample, member_scores, score in zip(data_samples, scores, ensemble):
            sample.set_pred_score(score).set_pred_label(score.argmax(keepdim=True))
            sample.set_field(member_scores, 'member_scores', dtype=torch.Tensor)
        return data_samples
