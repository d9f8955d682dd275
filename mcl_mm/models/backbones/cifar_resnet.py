"""CIFAR-style ResNet (He et al. 2016, 6n+2 layers) and Wide ResNet (Zagoruyko & Komodakis 2016).

mmpretrain has neither: its ``ResNet_CIFAR`` is the ImageNet layout with a 3x3 stem. These are the nets
the MCL paper's CIFAR-100 tables use (ResNet-32/56/110: 16-32-64 channels; WRN-d-k: 16k-32k-64k).
Stages are ``layer1..layer3`` (like torchvision) so auxiliary branches can copy them.
"""
from typing import Sequence

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError


def _projection_shortcut(in_channels: int, out_channels: int, stride: int):
    """1x1 conv + BN when the block changes the shape, else None (identity)."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class CifarBasicBlock(BaseModule):
    """3x3-3x3 residual block; a 1x1 projection shortcut when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = _projection_shortcut(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity, inplace=True)


class CifarBottleneck(BaseModule):
    """1x1-3x3-1x1 residual block with expansion 4 (the authors' CIFAR ResNet-110); a 1x1 projection shortcut
    when the shape changes. ``out_channels`` is the block's output width (4 x its inner width)."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        width = out_channels // self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = _projection_shortcut(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity, inplace=True)


class WideBasicBlock(BaseModule):
    """Pre-activation wide block (BN-ReLU-conv twice), as in the WRN paper."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, drop_rate: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_channels == out_channels and stride == 1
        self.shortcut = None if self.equal_in_out else nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = F.relu(self.bn1(x))
        out = self.conv1(pre)
        out = F.relu(self.bn2(out))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        return out + (x if self.equal_in_out else self.shortcut(pre))


class _CifarStagedNet(BaseBackbone):
    """Shared plumbing: conv stem, stages ``layer1..layer3``, returns the requested stage outputs."""

    stage_names = ('layer1', 'layer2', 'layer3')

    def __init__(self, out_indices: Sequence[int], init_cfg):
        init_cfg = init_cfg or [
            dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]
        super().__init__(init_cfg=init_cfg)
        self.out_indices = tuple(out_indices)

    def _make_stage(self, block, in_channels, out_channels, num_blocks, stride, **kwargs):
        layers = [block(in_channels, out_channels, stride, **kwargs)]
        layers += [block(out_channels, out_channels, 1, **kwargs) for _ in range(num_blocks - 1)]
        return nn.Sequential(*layers)

    def stem(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def head_act(self, x: Tensor) -> Tensor:
        return x

    def forward(self, x: Tensor):
        x = self.stem(x)
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i == len(self.stage_names) - 1:
                x = self.head_act(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class CifarResNet(_CifarStagedNet):
    """CIFAR ResNet for 32x32 inputs: 3x3 stem (16), three stages (16, 32, 64 wide inside).

    ``block='basic'``: ResNet-(6n+2) of basic blocks (He et al.), output 64 channels. ``block='bottleneck'``:
    ResNet-(9n+2) of bottleneck blocks (expansion 4, output 256 channels) — the authors' ResNet-110 is this
    net with n = 12 (their baseline 75.29 on CIFAR-100 is for it), not the basic-block n = 18 one.

    Args:
        depth (int): Network depth; basic: 20, 32, 44, 56, 110, ... (6n+2); bottleneck: 110, ... (9n+2).
            Defaults to 32.
        block (str): ``'basic'`` or ``'bottleneck'``. Defaults to ``'basic'``.
        base_channels (int): Inner width of the first stage (16 in the paper). Defaults to 16.
        out_indices (Sequence[int]): Stages to return (0-based). Defaults to ``(2, )``, the last.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None (Kaiming for the
            convolutions, constant 1 for BN).
    """

    def __init__(self,
                 depth: int = 32,
                 block: str = 'basic',
                 base_channels: int = 16,
                 out_indices=(2, ),
                 init_cfg=None):
        layers_per_block = {'basic': 2, 'bottleneck': 3}
        if block not in layers_per_block:
            raise ConfigError(f"CifarResNet block must be 'basic' or 'bottleneck', got {block!r}")
        per_stage = 3 * layers_per_block[block]
        if (depth - 2) % per_stage != 0:
            raise ConfigError(f'CifarResNet with {block} blocks needs depth = {per_stage}n+2, got {depth}')
        super().__init__(out_indices=out_indices, init_cfg=init_cfg)
        num_blocks = (depth - 2) // per_stage
        block_cls, expansion = (CifarBasicBlock, 1) if block == 'basic' else (CifarBottleneck,
                                                                              CifarBottleneck.expansion)
        widths = [base_channels * expansion, base_channels * 2 * expansion, base_channels * 4 * expansion]
        self.conv1 = nn.Conv2d(3, base_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        in_channels = base_channels
        for i, (name, width) in enumerate(zip(self.stage_names, widths)):
            self.add_module(name, self._make_stage(block_cls, in_channels, width, num_blocks, 1 if i == 0 else 2))
            in_channels = width
        self.out_channels = widths[-1]

    def stem(self, x: Tensor) -> Tensor:
        return F.relu(self.bn1(self.conv1(x)), inplace=True)


@MODELS.register_module()
class WideResNet(_CifarStagedNet):
    """WRN-depth-widen for 32x32 inputs (WRN-16-2, WRN-40-2, WRN-28-4 in the paper).

    Args:
        depth (int): Network depth, 6n+4 (16, 28, 40, ...). Defaults to 40.
        widen_factor (int): k; stage widths 16k, 32k, 64k. Defaults to 2.
        drop_rate (float): Dropout inside blocks (0 in the paper's MCL runs). Defaults to 0.0.
        out_indices (Sequence[int]): Stages to return (0-based; the last one after the final BN-ReLU).
            Defaults to ``(2, )``, the last.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None (Kaiming for the
            convolutions, constant 1 for BN).
    """

    def __init__(self,
                 depth: int = 40,
                 widen_factor: int = 2,
                 drop_rate: float = 0.0,
                 out_indices=(2, ),
                 init_cfg=None):
        if (depth - 4) % 6 != 0:
            raise ConfigError(f'WideResNet depth must be 6n+4 (16, 28, 40, ...), got {depth}')
        super().__init__(out_indices=out_indices, init_cfg=init_cfg)
        num_blocks = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        in_channels = 16
        for i, (name, width) in enumerate(zip(self.stage_names, widths)):
            self.add_module(
                name,
                self._make_stage(
                    WideBasicBlock, in_channels, width, num_blocks, 1 if i == 0 else 2, drop_rate=drop_rate))
            in_channels = width
        self.bn_final = nn.BatchNorm2d(widths[-1])
        self.relu_final = nn.ReLU(inplace=True)  # a module, so L-MCL branches can copy the tail
        self.out_channels = widths[-1]

    def stem(self, x: Tensor) -> Tensor:
        return self.conv1(x)

    def head_act(self, x: Tensor) -> Tensor:
        # Pre-activation nets need a final BN-ReLU before pooling.
        return self.relu_final(self.bn_final(x))
