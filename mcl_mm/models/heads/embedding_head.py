"""The per-member contrastive embedding head of MCL (discarded after training)."""
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mcl_mm.registry import MODELS


@MODELS.register_module()
class ContrastEmbedHead(BaseModule):
    """Linear(d -> hid) -> ReLU -> Linear(hid -> out) -> L2-normalise, on the pooled penultimate feature.

    Args:
        in_channels (int): d, width of the input feature.
        hid_channels (int): Width of the hidden layer. Defaults to 128.
        out_channels (int): Embedding size. Defaults to 128.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    def __init__(self, in_channels: int, hid_channels: int = 128, out_channels: int = 128, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True), nn.Linear(hid_channels, out_channels))

    def forward(self, feat: Tensor) -> Tensor:
        return F.normalize(self.mlp(feat), dim=1)
