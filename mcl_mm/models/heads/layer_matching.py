"""L-MCL v2 modules (docs/method.md §3): the meta-learned layer-matching weights and the stage aggregator."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from ..utils.pairs import cross_member_pairs


def pair_weights_from_projections(projections: Sequence[Sequence[Tensor]]) -> Tensor:
    """w = sigmoid(cos(p_ik, p_jz)) for every cross-member view pair: (P, B), pair order of
    :func:`cross_member_pairs`."""
    normed = [[F.normalize(p, dim=1) for p in member] for member in projections]
    pairs = cross_member_pairs([len(member) for member in projections])
    return torch.stack([torch.sigmoid((normed[i][k] * normed[j][z]).sum(1)) for (i, k), (j, z) in pairs])


@MODELS.register_module()
class LayerMatchWeightNet(BaseModule):
    """One Linear(d -> proj_dim) per (member, stage) on the raw pooled feature; the weight of a view pair
    is the sigmoid of the cosine between the two projections.

    It is trained only by the meta step; its parameters do not require grad otherwise, so ordinary
    steps, DDP and the network optimizer leave it alone.

    Args:
        in_channels (Sequence[Sequence[int]]): ``in_channels[i][k]`` feature width of stage k of member i.
        proj_dim (int): Projection width (128 in the paper). Defaults to 128.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self, in_channels: Sequence[Sequence[int]], proj_dim: int = 128, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.projections = nn.ModuleList(
            nn.ModuleList(nn.Linear(c, proj_dim) for c in member_channels) for member_channels in in_channels)
        self.requires_grad_(False)

    def forward(self, feats: Sequence[Sequence[Tensor]]) -> Tensor:
        projections = [[proj(f) for proj, f in zip(member_proj, member_feats)]
                       for member_proj, member_feats in zip(self.projections, feats)]
        return pair_weights_from_projections(projections)


@MODELS.register_module()
class StageAggregator(BaseModule):
    """Mixes one member's stage logits with input-dependent weights: concat(stage features) -> Linear ->
    ReLU -> Linear -> softmax over stages.

    Args:
        in_channels (int): Width of each stage's pooled feature (also the hidden width).
        num_stages (int): Number of stages mixed (the auxiliary branches plus the final stage).
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self, in_channels: int, num_stages: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_stages = num_stages
        self.gate = nn.Sequential(
            nn.Linear(num_stages * in_channels, in_channels), nn.ReLU(inplace=True), nn.Linear(in_channels, num_stages))

    def forward(self, feats: Sequence[Tensor], logits: Sequence[Tensor]) -> Tensor:
        if len(feats) != self.num_stages or len(logits) != self.num_stages:
            raise ValueError(f'StageAggregator expects {self.num_stages} stages, got {len(feats)} features '
                             f'and {len(logits)} logits')
        mix = self.gate(torch.cat(list(feats), dim=1)).softmax(dim=1)  # (B, S)
        return (torch.stack(list(logits), dim=1) * mix.unsqueeze(-1)).sum(1)
