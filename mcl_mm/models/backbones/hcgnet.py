"""HCGNet for 32x32 inputs: the HCGNet-A1 / A2 rows of the MCL and L-MCL CIFAR-100 tables.

Yang et al., "Gated Convolutional Networks with Hybrid Connectivity for Image Classification", AAAI 2020
(arXiv 1908.09699). A DenseNet-like net with few, heavier modules: inside a hybrid block every SMG module's
output is concatenated to its input (global dense connectivity), and inside the module the squeezed features
are kept by a gated residual (local residual connectivity). The layout below follows the CIFAR definition in
the MCL / L-MCL authors' code (`models/hcgnet.py`, `models/hcgnet_cifar.py`): same layers, widths and
parameter counts (A1: 1,102,651, A2: 3,133,679 with a 100-way linear classifier); the module names are ours.

One SMG module (input c channels, growth rate g):

- squeeze cell: BN-ReLU-conv 1x1 to 4g, BN-ReLU-conv 3x3 (4 groups) to g;
- multi-scale excitation cell: two depthwise BN-ReLU-conv 3x3 on the squeezed map, one dilated (2), each
  pooled to a (B, g) vector by a softmax attention over positions; the **update gate** mixes the two vectors
  with per-channel softmax weights computed from both (global context);
- **forget gate** on the residual: a per-channel sigmoid weight (from the map's attention-pooled vector)
  decays the squeezed map, the update gate's vector is added to every position;
- output: the input concatenated with that g-channel map (c + g channels).

Between hybrid blocks a transition halves the channels (1x1 to the mid width, BN-ReLU-conv 3x3 stride 2) and
applies the same gates (reductions 4 instead of 2) without the concatenation.
"""
from collections import OrderedDict
from typing import Optional, Sequence

import torch
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError


def _preact_conv(in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 padding: int = 0,
                 dilation: int = 1,
                 groups: int = 1) -> nn.Sequential:
    """BN -> ReLU -> conv (no bias), HCGNet's basic unit."""
    return nn.Sequential(
        OrderedDict(
            bn=nn.BatchNorm2d(in_channels),
            relu=nn.ReLU(inplace=True),
            conv=nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=False)))


def _context_pool(x: Tensor, context: nn.Conv2d) -> Tensor:
    """(B, C): the sum over positions of ``x`` weighted by a softmax over positions of ``context(x)`` (1 map)."""
    weights = context(x).flatten(1).softmax(dim=1)  # (B, H*W)
    return torch.einsum('bcn,bn->bc', x.flatten(2), weights)


class GateCell(nn.Module):
    """HCGNet's forget and update gates on a C-channel map ``x`` (the squeeze cell's output).

    ``forget_reduction`` / ``update_reduction``: the bottlenecks of the two gates' FC layers (2 / 2 in the
    SMG modules, 4 / 4 in the transitions, as the authors').
    """

    def __init__(self, channels: int, forget_reduction: int, update_reduction: int):
        super().__init__()
        forget_hidden = channels // forget_reduction
        update_hidden = 2 * channels // update_reduction
        # Forget gate (decays the reused map).
        self.forget_context = nn.Conv2d(channels, 1, 1)
        self.forget_fc1 = nn.Linear(channels, forget_hidden)
        self.forget_bn = nn.BatchNorm1d(forget_hidden)
        self.forget_fc2 = nn.Linear(forget_hidden, channels)
        # Multi-scale excitation: depthwise 3x3 and dilated 3x3 (a 5x5 receptive field).
        self.excite_3x3 = _preact_conv(channels, channels, 3, padding=1, groups=channels)
        self.excite_dilated = _preact_conv(channels, channels, 3, padding=2, dilation=2, groups=channels)
        self.context_3x3 = nn.Conv2d(channels, 1, 1)
        self.context_dilated = nn.Conv2d(channels, 1, 1)
        # Update gate (selects between the two scales per channel).
        self.update_fc = nn.Linear(2 * channels, update_hidden)
        self.update_bn = nn.BatchNorm1d(update_hidden)
        self.select_3x3 = nn.Linear(update_hidden, channels)
        self.select_dilated = nn.Linear(update_hidden, channels)

    def forward(self, x: Tensor) -> Tensor:
        keep = _context_pool(x, self.forget_context)
        keep = torch.sigmoid(self.forget_fc2(torch.tanh(self.forget_bn(self.forget_fc1(keep)))))  # (B, C)

        local = _context_pool(self.excite_3x3(x), self.context_3x3)
        wide = _context_pool(self.excite_dilated(x), self.context_dilated)
        hidden = torch.tanh(self.update_bn(self.update_fc(torch.cat([local, wide], dim=1))))
        mix = torch.stack([self.select_3x3(hidden), self.select_dilated(hidden)], dim=1).softmax(dim=1)
        new = mix[:, 0] * local + mix[:, 1] * wide  # (B, C): global context, the same at every position

        return x * keep[:, :, None, None] + new[:, :, None, None]


class SMGModule(nn.Module):
    """Squeeze cell + gates; returns ``cat([x, gated], 1)``: ``in_channels + growth_rate`` channels."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: int = 4, groups: int = 4):
        super().__init__()
        self.squeeze = nn.Sequential(
            _preact_conv(in_channels, bottleneck * growth_rate, 1),
            _preact_conv(bottleneck * growth_rate, growth_rate, 3, padding=1, groups=groups))
        self.gate = GateCell(growth_rate, forget_reduction=2, update_reduction=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.gate(self.squeeze(x))], dim=1)


class HCGTransition(nn.Module):
    """Between hybrid blocks: ``in_channels`` -> ``out_channels`` at half the resolution, then the gates."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        mid = in_channels - (in_channels - out_channels) // 2
        self.reduce = nn.Sequential(
            _preact_conv(in_channels, mid, 1), _preact_conv(mid, out_channels, 3, stride=2, padding=1))
        self.gate = GateCell(out_channels, forget_reduction=4, update_reduction=4)

    def forward(self, x: Tensor) -> Tensor:
        return self.gate(self.reduce(x))


@MODELS.register_module()
class HCGNet(BaseBackbone):
    """HCGNet with the CIFAR stem (3x3 conv, stride 1, to 2 x growth_rate[0] channels).

    Stages ``layer1..layer3``: ``layerK.hybrid_block`` (``blocks[K]`` SMG modules of growth rate
    ``growth_rate[K]``) followed, for the first two, by ``layerK.transition`` (channels x ``compression``,
    stride 2); then ``bn_final`` + ``relu_final`` (a pre-activation net). A 32x32 image reaches layer3 at
    8x8. Keeping each transition inside its stage lets an L-MCL branch tapped after ``layerK`` copy exactly
    what the authors' auxiliary branches copy (the rest of the net, transitions included), and the authors'
    x4 net share ``conv1`` + ``layer1`` (stem, first block, first transition).

    Args:
        arch (str): ``'A1'`` (growth 12-24-36) or ``'A2'`` (24-36-64), 8 modules per block; ignored when
            ``growth_rate`` and ``blocks`` are given. Defaults to ``'A1'``.
        growth_rate (Sequence[int], optional): Per-block growth rates; give with ``blocks``. Defaults to None.
        blocks (Sequence[int], optional): Per-block numbers of SMG modules; give with ``growth_rate``.
            Defaults to None.
        compression (float): Transition width factor (theta). Defaults to 0.5.
        out_indices (Sequence[int]): Stages to return (0-based; the last one after the final BN-ReLU).
            Defaults to ``(2, )``, the last.
        init_cfg (dict or list[dict], optional): Initialization config dict; ``None`` keeps PyTorch's default
            initialisation, as the authors' HCGNet (no init loop). Defaults to None.
    """

    arch_settings = {
        'A1': dict(growth_rate=(12, 24, 36), blocks=(8, 8, 8)),
        'A2': dict(growth_rate=(24, 36, 64), blocks=(8, 8, 8)),
    }
    stage_names = ('layer1', 'layer2', 'layer3')

    def __init__(self,
                 arch: str = 'A1',
                 growth_rate: Optional[Sequence[int]] = None,
                 blocks: Optional[Sequence[int]] = None,
                 compression: float = 0.5,
                 out_indices: Sequence[int] = (2, ),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (growth_rate is None) != (blocks is None):
            raise ConfigError('HCGNet: give both growth_rate and blocks, or neither (then arch picks them)')
        if growth_rate is None:
            if arch not in self.arch_settings:
                raise ConfigError(f'HCGNet arch must be one of {sorted(self.arch_settings)}, got {arch!r}')
            growth_rate, blocks = self.arch_settings[arch]['growth_rate'], self.arch_settings[arch]['blocks']
        growth_rate, blocks = tuple(growth_rate), tuple(blocks)
        if len(growth_rate) != len(self.stage_names) or len(blocks) != len(self.stage_names):
            raise ConfigError(f'HCGNet has {len(self.stage_names)} hybrid blocks: growth_rate {growth_rate} and '
                              f'blocks {blocks} need one entry each')
        self.out_indices = tuple(out_indices)

        channels = 2 * growth_rate[0]
        self.conv1 = nn.Conv2d(3, channels, 3, 1, 1, bias=False)
        self.stage_channels = []
        for i, (name, rate, num) in enumerate(zip(self.stage_names, growth_rate, blocks)):
            modules = [SMGModule(channels + k * rate, rate) for k in range(num)]
            channels += rate * num
            stage = OrderedDict(hybrid_block=nn.Sequential(*modules))
            if i < len(self.stage_names) - 1:
                out = int(channels * compression)
                stage['transition'] = HCGTransition(channels, out)
                channels = out
            self.add_module(name, nn.Sequential(stage))
            self.stage_channels.append(channels)
        self.bn_final = nn.BatchNorm2d(channels)
        self.relu_final = nn.ReLU(inplace=True)  # modules, so L-MCL branches can copy the tail
        self.out_channels = channels

    def forward(self, x: Tensor):
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i == len(self.stage_names) - 1:
                x = self.relu_final(self.bn_final(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
