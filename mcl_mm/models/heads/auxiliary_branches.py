"""L-MCL auxiliary refinement branches (docs/method.md §3), tapped after intermediate backbone stages."""
import contextlib
import copy
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError

BRANCH_DEPTHS = ('full', 'first_block')


@contextlib.contextmanager
def capture_stage_outputs(backbone: nn.Module, names: Sequence[str]) -> Iterator[Dict[str, Tensor]]:
    """Record the outputs of ``backbone``'s sub-modules ``names`` during the forward run inside the block.

    Hooks are added on entry and removed on exit, so a module shared by several members (a shared trunk)
    reports to whichever member is running. Works under DDP and ``torch.func.functional_call``.
    """
    captured: Dict[str, Tensor] = {}
    handles = []
    for name in names:

        def hook(module, args, output, name=name):
            captured[name] = output

        handles.append(_stage(backbone, name).register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in names if name not in captured]
    if missing:
        raise RuntimeError(f'L-MCL: backbone stages {missing} did not run during the forward pass; '
                           f'check `branches.taps` against the stages {type(backbone).__name__} executes')


def _stage(backbone: nn.Module, name: str) -> nn.Module:
    try:
        return backbone.get_submodule(name)
    except AttributeError:
        children = [n for n, _ in backbone.named_children()]
        raise ConfigError(f'L-MCL branches: {type(backbone).__name__} has no stage {name!r}; '
                          f'its top-level modules are {children}') from None


def _check_depth(depth) -> None:
    ok = depth in BRANCH_DEPTHS if isinstance(depth, str) else (isinstance(depth, int) and not isinstance(depth, bool)
                                                                and depth >= 1)
    if not ok:
        raise ConfigError(f'AuxiliaryBranches depth must be one of {BRANCH_DEPTHS} or a block count >= 1 '
                          f'(or a list of those, one per tap), got {depth!r}')


def _fresh_copy(module: nn.Module, depth: Union[str, int]) -> nn.Module:
    """A re-initialised copy of a stage: all of it, (``first_block``) its first block only, or (an int ``n``)
    its first ``n`` blocks. A stage that is not an ``nn.Sequential`` of blocks is copied whole."""
    if isinstance(module, nn.Sequential):
        if depth == 'first_block':
            module = module[0]
        elif isinstance(depth, int):
            module = module[:depth]
    module = copy.deepcopy(module)
    for sub in module.modules():
        if hasattr(sub, 'reset_parameters'):
            sub.reset_parameters()
    return module


@MODELS.register_module()
class AuxiliaryBranches(BaseModule):
    """One branch per tapped stage of a member backbone: copies of the remaining stages, pooling, a
    classifier and an embedding head.

    The branch tapped after stage ``stages[t]`` runs fresh copies of ``stages[t+1:]`` (``depth='full'``,
    the CIFAR recipe) or of their first blocks only (``depth='first_block'``, the ImageNet ResNet recipe:
    channels and strides match the main path at a fraction of its cost) or of their first ``n`` blocks
    (``depth=n``); a list gives one depth per tap (the authors' ImageNet ShuffleNetV2: ``(2, 'full',
    'full')`` for taps after the stem, stage 1 and stage 2), then ``tail`` (modules the
    backbone applies after its last stage, e.g. WRN's final BN-ReLU), global average pooling, a Linear
    classifier and a :class:`ContrastEmbedHead`. The copies share nothing with the trunk.

    Args:
        backbone (nn.Module): The member backbone whose stages are copied (not stored here).
        stages (Sequence[str]): Names of the backbone's stage modules in execution order (``layer1..layer4``
            for mmpretrain's ResNet, ``layer1..layer3`` for CIFAR nets, ``layers.0..layers.3`` for
            ShuffleNetV2).
        taps (Sequence[str]): The stages after which a branch starts (distinct, not the last one).
        in_channels (int): Channels of the last stage (the member classifier's ``in_channels``).
        num_classes (int): Classifier outputs.
        depth (str or int or Sequence[str or int]): ``'full'``, ``'first_block'``, a block count ``n >= 1``,
            or a sequence of those with one entry per tap (in the order of ``taps``). Defaults to ``'full'``.
        tail (Sequence[str]): Backbone modules applied after the last stage, copied too. Defaults to ``()``.
        embed_head (dict, optional): Config of each branch's embedding head (``in_channels`` is filled in);
            ``None`` for none (the branches-only ablation). Defaults to ``dict(type='ContrastEmbedHead')``.
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to Kaiming (fan_out,
            ReLU) for ``Conv2d`` and constant 1 for BN / GroupNorm layers.
    """

    def __init__(self,
                 backbone: nn.Module,
                 stages: Sequence[str],
                 taps: Sequence[str],
                 in_channels: int,
                 num_classes: int,
                 depth: Union[str, int, Sequence[Union[str, int]]] = 'full',
                 tail: Sequence[str] = (),
                 embed_head: Optional[dict] = dict(type='ContrastEmbedHead'),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                                nonlinearity='relu'), dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if init_cfg else None)
        stages, taps = tuple(stages), tuple(taps)
        unknown = [t for t in taps if t not in stages[:-1]]
        if unknown or len(set(taps)) != len(taps) or not taps:
            raise ConfigError(f'AuxiliaryBranches taps {list(taps)} must be distinct, non-empty, and name stages '
                              f'before the last one of {list(stages)}')
        depths = [depth] * len(taps) if isinstance(depth, (str, int)) else list(depth)
        if len(depths) != len(taps):
            raise ConfigError(f'AuxiliaryBranches: {len(depths)} depths {depths} for {len(taps)} taps {list(taps)}')
        for d in depths:
            _check_depth(d)
        depth_of = dict(zip(taps, depths))
        self.taps = tuple(sorted(taps, key=stages.index))
        self.in_channels = in_channels
        self.branches = nn.ModuleList()
        for tap in self.taps:
            remaining = [_stage(backbone, name) for name in stages[stages.index(tap) + 1:]]
            remaining += [_stage(backbone, name) for name in tail]
            self.branches.append(nn.Sequential(*[_fresh_copy(m, depth_of[tap]) for m in remaining]))
        self.classifiers = nn.ModuleList(nn.Linear(in_channels, num_classes) for _ in self.taps)
        self.embed_heads = nn.ModuleList(MODELS.build(dict(embed_head, in_channels=in_channels))
                                         for _ in self.taps) if embed_head else None

    @property
    def num_branches(self) -> int:
        return len(self.taps)

    def forward(self, stage_outputs: Dict[str, Tensor], embed: bool = True) -> Tuple[List[Tensor], ...]:
        """Per branch: pooled feature (B, C), logits (B, num_classes) and (if ``embed``) embedding.

        Args:
            stage_outputs: the tapped stage outputs, keyed by stage name (from :func:`capture_stage_outputs`).
        """
        feats, logits, embeddings = [], [], []
        for k, (tap, branch, classifier) in enumerate(zip(self.taps, self.branches, self.classifiers)):
            feat = F.adaptive_avg_pool2d(branch(stage_outputs[tap]), 1).flatten(1)
            feats.append(feat)
            logits.append(classifier(feat))
            if embed and self.embed_heads is not None:
                embeddings.append(self.embed_heads[k](feat))
        return feats, logits, embeddings
