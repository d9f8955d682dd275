"""Mutual Contrastive Learning (MCL): a cohort of classifiers trained together.

Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual Recognition", TPAMI 2023
(https://arxiv.org/abs/2207.11518): each member's CE plus the paper's Vanilla Contrastive Learning (VCL),
Interactive Contrastive Learning (ICL) and their soft (KL) versions on per-member embeddings, against memory
banks or within the batch. As implemented here: docs/method.md §1-2.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from .cohort import CohortClassifier


@MODELS.register_module()
class MCL(CohortClassifier):
    """A :class:`CohortClassifier` with per-member embedding heads and the MCL objective.

    Args:
        members (dict or list[dict]): Member configs, see :class:`CohortClassifier`.
        num_members (int, optional): Cohort size when ``members`` is a single config. Defaults to None.
        embed_head (dict, optional): Config of the per-member embedding head; ``in_channels`` defaults to the
            member's classifier ``in_channels``. Defaults to None (a :class:`ContrastEmbedHead`).
        loss (dict, optional): :class:`MCLLoss` options (weights, temperatures, optional logit KD).
            With every contrastive weight at 0 no embedding heads are built. Defaults to None.
        memory (dict, optional): :class:`CohortMemoryBank` config (ImageNet path); ``type``,
            ``num_members`` and ``feat_dim`` are filled in. ``None`` selects the in-batch CIFAR path, which
            wants an M-per-class sampler. Defaults to None.
        shared_trunk (list[str], optional): Backbone sub-modules shared by all members, see
            :class:`CohortClassifier`. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config. Defaults to None (mmpretrain's
            ``ClsDataPreprocessor``).
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    loss_type = 'MCLLoss'  # the registered loss module built from ``loss`` (L-MCL: its layer-wise one)

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 embed_head: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 memory: Optional[dict] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            members=members,
            num_members=num_members,
            shared_trunk=shared_trunk,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.loss_module = MODELS.build(dict(type=self.loss_type, **(loss or {})))
        # With every contrastive weight at 0 the cohort is the independent baseline: no heads, no bank.
        self.embed_heads = self._build_embed_heads(embed_head) if self.loss_module.uses_contrast else None
        self.memory = None
        if memory is not None:
            if not self.loss_module.uses_contrast:
                raise ConfigError('MCL: a memory bank is configured but every contrastive loss weight is 0; '
                                  'set model.memory=None for an independent baseline')
            memory = dict(memory)
            memory.setdefault('type', 'CohortMemoryBank')
            memory.setdefault('num_members', self.num_members)
            memory.setdefault('feat_dim', self.embed_heads[0].out_channels)
            self.memory = MODELS.build(memory)
            if self.memory.num_members != self.num_members:
                raise ConfigError(f'memory.num_members={self.memory.num_members} but the cohort has '
                                  f'{self.num_members} members')

    def _build_embed_heads(self, embed_head: Optional[dict]) -> nn.ModuleList:
        embed_head = dict(embed_head or dict(type='ContrastEmbedHead'))
        heads = []
        for i, member in enumerate(self.members):
            cfg = copy.deepcopy(embed_head)
            if 'in_channels' not in cfg:
                if not hasattr(member.head, 'in_channels'):
                    raise ConfigError(f'MCL member {i}: set embed_head.in_channels (its head has no in_channels)')
                cfg['in_channels'] = member.head.in_channels
            heads.append(MODELS.build(cfg))
        return nn.ModuleList(heads)

    # ------------------------------------------------------------------ training
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
        losses = self.member_ce_losses(logits, data_samples)

        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        indices, bank = self._bank_inputs(data_samples, labels)
        losses.update(self.loss_module(embeddings, labels, logits=logits, **bank))
        if self.memory is not None:
            # The update writes the anchors' slots after the loss has read the (gathered copies of the) banks.
            self.memory.update(indices, embeddings)
        return losses

    def _bank_inputs(self, data_samples: List[DataSample], labels: Tensor, previous_step: bool = False):
        """Dataset indices and the bank arguments of the contrast (``{}`` on the in-batch path);
        ``previous_step``: the positives / negatives the last ordinary step drew for these anchors."""
        if self.memory is None:
            return None, {}
        indices = torch.as_tensor([s.sample_idx for s in data_samples], dtype=torch.long)
        if labels.device.type == 'cuda':
            # Pinned and non-blocking: a plain copy waits for the backbones' queued kernels, so the host could not
            # launch the loss path meanwhile (the step's only synchronising call, measured on an H200).
            indices = indices.pin_memory().to(labels.device, non_blocking=True)
        else:
            indices = indices.to(labels.device)
        pos_idx, neg_idx = self.memory.sample(indices, labels, previous_step=previous_step)
        return indices, dict(memories=self.memory.banks, pos_idx=pos_idx, neg_idx=neg_idx)
