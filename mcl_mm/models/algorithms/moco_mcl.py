"""Self-supervised MCL: a cohort of MoCo members trained together (MCL applied to MoCo, as in the authors'
code, github winycg/MCL: main_moco_mcl.py / moco/builder_mcl.py).

The MCL terms of Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual
Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518), with MoCo's keys and queues as the contrast
candidates.

Every member is a MoCo pair: a query encoder (backbone + neck) trained by gradient and a key encoder following it
by momentum, with its own queue of K negatives. All members see the same two views of a batch: the first through
the query encoders, the second through the key encoders. The loss is :class:`MoCoMCLLoss` (VCL = each member's
own MoCo loss, plus ICL / Soft VCL / Soft ICL across members); with every weight but VCL at 0 the cohort is M
independent MoCo runs, the baseline.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, broadcast, get_world_size
from mmengine.model import BaseModel, BaseModule, ExponentialMovingAverage
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from .cohort import member_configs

SELFSUP_MEMBER_KEYS = {'backbone', 'neck', 'init_cfg'}


class SelfSupMember(BaseModule):
    """One member's query encoder: ``backbone`` + ``neck``, no classifier (``head`` is None).

    Stored as ``members.<i>`` by :class:`MoCoMCL`, so its backbone lives under ``members.<i>.backbone.`` in every
    checkpoint: the prefix tools/model_converters/extract_backbone.py, tools/model_converters/publish_model.py and
    the linear-evaluation and transfer configs read.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Neck config; its first output, L2-normalised, is the member's embedding.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self, backbone: dict, neck: dict, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = None

    def extract_feat(self, inputs: Tensor):
        return self.backbone(inputs)

    def forward(self, inputs: Tensor) -> Tensor:
        """The L2-normalised embedding (B, D)."""
        return F.normalize(self.neck(self.backbone(inputs))[0], dim=1)


def selfsup_member_configs(members, num_members, algorithm: str) -> List[dict]:
    """Validated per-member configs (``backbone`` and ``neck``; a list, or one config + ``num_members``)."""
    for i, member in enumerate([members] if isinstance(members, dict) else list(members)):
        unknown = set(member) - SELFSUP_MEMBER_KEYS
        if unknown:
            raise KeyError(f'{algorithm} member {i}: unknown keys {sorted(unknown)}; a self-supervised member takes '
                           f'{sorted(SELFSUP_MEMBER_KEYS)} (no classifier head)')
        for part in ('backbone', 'neck'):
            if not member.get(part):
                raise ConfigError(f'{algorithm} member {i}: `{part}` is required')
    configs = member_configs(members, num_members, algorithm)
    for cfg in configs:
        cfg.pop('type')  # member_configs' classifier default; a member here is always a SelfSupMember
    return configs


@MODELS.register_module()
class MoCoMCL(BaseModel):
    """A cohort of MoCo members trained with Mutual Contrastive Learning.

    State (all in the state dict, so checkpoints and ``--resume`` restore it):

    * ``members.<i>.backbone`` / ``members.<i>.neck``: member i's query encoder;
    * ``key_encoders.<i>``: its momentum key encoder (mmengine's :class:`ExponentialMovingAverage` of
      ``backbone + neck``, as mmpretrain's MoCo; its ``steps`` buffer counts updates);
    * ``queues`` (M, K, D): member i's negatives in ``queues[i]``, rows L2-normalised; ``queue_ptr`` (M,): where
      each member's next keys are written.

    One training step: the key encoders take a momentum step towards their query encoders, the key view is
    shuffled across GPUs (mmpretrain's ``batch_shuffle_ddp``: the key encoders' BN then sees a batch unrelated to
    the queries', MoCo's shuffle-BN; a no-op reorder on one process), every member embeds both views, the loss
    reads the queues, and each member's queue receives its own keys, all-gathered over DDP ranks so every rank
    writes the same global batch (rank 0's initial queues are broadcast once, before the first step).

    Args:
        members (dict or list[dict]): One member config (``backbone``, ``neck``, optional ``init_cfg``; no
            classifier head) with ``num_members``, or a list of them.
        num_members (int, optional): Cohort size M when ``members`` is a single config. Defaults to None.
        queue_len (int): K, number of negative keys maintained in each member's queue. Need not be a multiple
            of the global batch (the write wraps), but at least the global batch. Defaults to 65536.
        feat_dim (int): D, the neck's output size. Defaults to 128.
        momentum (float): Weight of the query encoder in each key-encoder update, in (0, 1], mmengine's EMA
            convention as in mmpretrain's MoCo configs: ``key <- (1 - momentum) * key + momentum * query``.
            The authors' m = 0.999 is ``momentum=0.001``. Defaults to 0.001.
        loss (dict, optional): :class:`MoCoMCLLoss` options (``loss_weights``, ``tau``, ``kl_temperature``).
            Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config; ``type`` defaults to mmpretrain's
            ``SelfSupDataPreprocessor`` (a list of views in, a list out). Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 num_members: Optional[int] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.001,
                 loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'SelfSupDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if queue_len < 1 or feat_dim < 1:
            raise ConfigError(f'MoCoMCL needs queue_len >= 1 and feat_dim >= 1, got {queue_len}, {feat_dim}')
        if not 0.0 < momentum <= 1.0:
            raise ConfigError(f'MoCoMCL momentum is the weight of the query encoder in the key-encoder update, '
                              f'in (0, 1] (the authors\' m = 0.999 is momentum=0.001), got {momentum}')
        self.members = nn.ModuleList(
            [SelfSupMember(**cfg) for cfg in selfsup_member_configs(members, num_members,
                                                                    type(self).__name__)])
        self.num_members = len(self.members)
        self.key_encoders = nn.ModuleList(
            [ExponentialMovingAverage(self._query_encoder(i), momentum) for i in range(self.num_members)])
        self.loss_module = MODELS.build(dict(type='MoCoMCLLoss', **(loss or {})))
        self.queue_len = queue_len
        self.feat_dim = feat_dim
        self.momentum = momentum
        self.register_buffer('queues', F.normalize(torch.randn(self.num_members, queue_len, feat_dim), dim=-1))
        self.register_buffer('queue_ptr', torch.zeros(self.num_members, dtype=torch.long))
        self._queues_synced = False  # see _sync_queues

    def _query_encoder(self, i: int) -> nn.Sequential:
        """Member i's query encoder as the key encoder's source (a fresh container, not registered twice)."""
        return nn.Sequential(self.members[i].backbone, self.members[i].neck)

    def init_weights(self):
        super().init_weights()
        # The key encoders copy their (now initialised) query encoders at their first update; do it now too, so
        # a model is consistent before its first step (the authors copy at construction).
        with torch.no_grad():
            for i, encoder in enumerate(self.key_encoders):
                if int(encoder.steps) == 0:
                    for p_k, p_q in zip(encoder.module.parameters(), self._query_encoder(i).parameters()):
                        p_k.copy_(p_q)

    # ------------------------------------------------------------------ forward
    def forward(self,
                inputs: Union[Tensor, List[Tensor]],
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". {type(self).__name__} supports "loss" and "tensor" (as '
                           "mmpretrain's self-supervised algorithms); evaluate a member with the linear protocol")

    def extract_feat(self, inputs: Union[Tensor, List[Tensor]]) -> List[tuple]:
        """Every member's backbone features of the (first view of the) input: a list of M backbone outputs."""
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        return [member.extract_feat(x) for member in self.members]

    def loss(self, inputs: List[Tensor], data_samples: Optional[List[DataSample]] = None) -> Dict[str, Tensor]:
        """The weighted MCL terms of one step; each member's queue is updated after they are computed."""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('MoCoMCL needs two views of every image (a list [query view, key view]); use a '
                             "MultiView(num_views=2) pipeline and the SelfSupDataPreprocessor")
        im_q, im_k = inputs[0], inputs[1]
        self._sync_queues()
        queries = [member(im_q) for member in self.members]
        keys = self._keys(im_k)
        # A snapshot of the queues: the in-place write below must not touch what the backward pass reads.
        losses = self.loss_module(queries, keys, self.queues.clone())
        self._dequeue_and_enqueue(keys)
        return losses

    @torch.no_grad()
    def _sync_queues(self) -> None:
        """Once per process, before the first step: every rank takes rank 0's queues and pointers.

        DDP syncs parameters at start-up but buffers only with ``broadcast_buffers=True``, which mmengine's runner
        turns off; each rank's random initial queue (different under ``randomness.diff_rank_seed``) would otherwise
        survive until overwritten. After that the all-gathered update keeps the ranks identical.
        """
        if not self._queues_synced:
            if get_world_size() > 1:
                broadcast(self.queues, src=0)
                broadcast(self.queue_ptr, src=0)
            self._queues_synced = True

    @torch.no_grad()
    def _keys(self, im_k: Tensor) -> List[Tensor]:
        """Momentum-update every key encoder, then embed the (shuffled across GPUs) key view with each."""
        for i, encoder in enumerate(self.key_encoders):
            encoder.update_parameters(self._query_encoder(i))
        shuffled, idx_unshuffle = batch_shuffle_ddp(im_k)
        return [
            batch_unshuffle_ddp(F.normalize(encoder(shuffled)[0], dim=1), idx_unshuffle)
            for encoder in self.key_encoders
        ]

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys: Sequence[Tensor]) -> None:
        """Write each member's keys (all ranks' keys, in rank order, under DDP) at its pointer, oldest first out."""
        stacked = torch.stack([k.detach() for k in keys])  # (M, B, D)
        if get_world_size() > 1:
            stacked = torch.cat(all_gather(stacked.contiguous()), dim=1)  # (M, world * B, D)
        num_new = stacked.shape[1]
        if num_new > self.queue_len:
            raise ValueError(f'MoCoMCL: {num_new} keys per step (the global batch) exceed queue_len={self.queue_len}')
        slots = (self.queue_ptr.view(-1, 1) + torch.arange(num_new, device=self.queue_ptr.device)) % self.queue_len
        members = torch.arange(self.num_members, device=slots.device).view(-1, 1)
        self.queues[members, slots] = stacked.to(self.queues.dtype)
        self.queue_ptr.copy_((self.queue_ptr + num_new) % self.queue_len)
