"""Backbone export with strict-load verification (tools/model_converters/extract_backbone.py and
publish_model.py)."""
from mmengine.registry import init_default_scope

from .cohort_checkpoint import (CohortCheckpointError, atomic_save, check_output_paths, member_weights, open_member,
                                strict_load)

TORCHVISION_RESNETS = (18, 34, 50, 101, 152)


def _is_plain_resnet(backbone_cfg: dict) -> bool:
    return backbone_cfg.get('type') in ('ResNet', 'mmpretrain.ResNet') and not backbone_cfg.get('deep_stem', False)


def _resnet_kwargs(backbone_cfg: dict) -> dict:
    keys = ('depth', 'stem_channels', 'base_channels', 'num_stages', 'out_indices', 'style')
    return {k: backbone_cfg[k] for k in keys if k in backbone_cfg}


def verify_backbone(weights, backbone_cfg: dict) -> list:
    """Strict-load ``weights`` into the member's backbone and, for ResNets, mmdet's and mmseg's ResNet."""
    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    cfg = dict(backbone_cfg)
    cfg.pop('init_cfg', None)
    try:
        backbone = MODELS.build(cfg)
    except Exception as err:  # the config came from a file: any value may be wrong, say which part
        raise CohortCheckpointError(f'the member backbone config {cfg} cannot be built ({type(err).__name__}: '
                                    f'{str(err).splitlines()[0] if str(err) else ""}); pass the training config '
                                    'with --config CONFIG') from None
    strict_load(backbone, weights, f'the member backbone {cfg.get("type")}')
    verified = [f'mmpretrain.{cfg.get("type")}']
    if _is_plain_resnet(backbone_cfg):
        from mmdet.models.backbones import ResNet as DetResNet
        from mmseg.models.backbones import ResNet as SegResNet
        kwargs = _resnet_kwargs(backbone_cfg)
        strict_load(DetResNet(**kwargs), weights, "mmdet's ResNet")
        strict_load(SegResNet(**kwargs), weights, "mmseg's ResNet")
        verified += ['mmdet.ResNet', 'mmseg.ResNet']
    return verified


def torchvision_weights(state_dict, member: int, backbone_cfg: dict, head_cfg: dict):
    """Backbone + classifier in torchvision's layout, strict-loaded into torchvision.models.resnet<depth>."""
    import torchvision
    depth = backbone_cfg.get('depth')
    standard = backbone_cfg.get('stem_channels', 64) == 64 and backbone_cfg.get('base_channels', 64) == 64
    if not (_is_plain_resnet(backbone_cfg) and depth in TORCHVISION_RESNETS and standard):
        raise CohortCheckpointError(
            f'--format torchvision needs a standard torchvision ResNet member (depth {TORCHVISION_RESNETS}, 64-wide '
            f'stem), member {member} is {backbone_cfg}; use --format openmmlab')
    weights = member_weights(state_dict, member, 'backbone')
    head = member_weights(state_dict, member, 'head')
    weights.update((f'fc.{k[len("fc."):]}', v) for k, v in head.items() if k.startswith('fc.'))
    num_classes = head_cfg.get('num_classes') if isinstance(head_cfg, dict) else None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise CohortCheckpointError(f'--format torchvision needs the member head\'s num_classes, a positive integer; '
                                    f'the config says {num_classes!r}. Pass the training config with --config CONFIG')
    model = getattr(torchvision.models, f'resnet{depth}')(weights=None, num_classes=num_classes)
    strict_load(model, weights, f'torchvision.models.resnet{depth}')
    return weights, [f'torchvision.models.resnet{depth}']


def extract_backbone(checkpoint: str,
                     out: str,
                     member: int,
                     fmt: str = 'openmmlab',
                     config: str = None,
                     force: bool = False) -> dict:
    """Write member ``member``'s backbone of a cohort checkpoint to ``out`` as a weights-only file, after a strict
    load into the member's backbone (and mmdet's / mmseg's ResNet, or torchvision's with ``fmt='torchvision'``).

    Args:
        checkpoint: a cohort training checkpoint written by tools/train.py.
        out: the output file; never the input, replaced only with ``force``.
        member: the member's 0-based index.
        fmt: ``'openmmlab'`` (backbone keys, ``{'state_dict', 'meta'}``) or ``'torchvision'`` (backbone +
            classifier as ``fc.*``, a bare state dict).
        config: the training config, for a checkpoint without one or to use instead of the stored one.
        force: replace an existing ``out``.

    Returns:
        ``dict(arch, num_tensors, verified)``: the backbone type, how many tensors were written, and the models
        they were verified to load into.
    """
    check_output_paths([out], [checkpoint] + ([config] if config else []), force)
    opened = open_member(checkpoint, member, config)
    backbone_cfg = dict(opened.model_cfg['backbone'])
    if fmt == 'torchvision':
        weights, verified = torchvision_weights(opened.state_dict, member, backbone_cfg,
                                                opened.model_cfg.get('head', {}))
        atomic_save(weights, out)
    else:
        weights = opened.weights('backbone')
        verified = verify_backbone(weights, backbone_cfg)
        atomic_save(
            dict(
                state_dict=weights,
                meta=dict(
                    source=str(checkpoint),
                    member=member,
                    arch=repr(backbone_cfg),
                    epoch=opened.meta.get('epoch'),
                    format='openmmlab')), out)
    return dict(arch=backbone_cfg.get('type'), num_tensors=len(weights), verified=verified)
