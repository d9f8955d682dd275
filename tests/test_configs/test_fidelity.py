"""Recipes that claim to reproduce the authors are their recipes: checked on the built configs."""
import glob
import os.path as osp

import pytest
from helpers import REPO
from mmengine.config import Config

IN1K = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*in1k.py'), recursive=True) if '_base_' not in p)
CIFAR = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*cifar100.py'), recursive=True) if '_base_' not in p)


def _members(cfg):
    members = cfg.model.get('members', cfg.model)  # a single classifier (linear evaluation) is its own member
    return list(members) if isinstance(members, (list, tuple)) else [members]


@pytest.mark.parametrize('path', IN1K, ids=osp.basename)
def test_imagenet_resnets_do_not_zero_init_the_last_bn(path):
    """The authors' ImageNet ResNets keep torchvision's default (zero_init_residual=False); mmpretrain's is True."""
    cfg = Config.fromfile(path)
    resnets = [m['backbone'] for m in _members(cfg) if m['backbone'].get('type') == 'ResNet']
    others = {m['backbone'].get('type') for m in _members(cfg)} - {'ResNet'}
    assert resnets or others == {'ShuffleNetV2'}, path  # ShuffleNetV2 x2 rows: nothing to check
    for backbone in resnets:
        assert backbone.get('zero_init_residual') is False, (path, backbone)


@pytest.mark.parametrize('path', CIFAR, ids=osp.basename)
def test_cifar_in_batch_recipes_draw_distinct_classes_per_batch(path):
    cfg = Config.fromfile(path)
    if cfg.model.get('memory') is not None:
        pytest.fail(f'{path}: a CIFAR recipe on the bank path')
    loader = cfg.train_dataloader
    assert loader.sampler.type == 'MPerClassSampler' and loader.sampler.m == 2
    assert loader.sampler.batch_size == loader.batch_size == 128


# The authors' whole-cohort parameter counts (backbones + classifiers, num_classes=100, embedding heads
# excluded): x2 = two independent nets, x4 = their multi-branch net (shared stem + layer1).
AUTHORS_PARAMS = {
    ('resnet32', 2): 945_512,
    ('resnet56', 2): 1_723_240,
    ('resnet110', 2): 2_341_736,
    ('wrn16-2', 2): 1_406_568,
    ('wrn40-2', 2): 4_510_312,
    ('shufflenetv2-0.5', 2): 888_584,
    ('shufflenetv2-1.0', 2): 2_712_208,
    ('resnet32', 4): 1_819_552,
    ('resnet56', 4): 3_318_944,
    ('resnet110', 4): 4_517_344,
    ('wrn16-2', 4): 2_712_864,
    ('wrn40-2', 4): 8_697_632,
    ('wrn28-4', 2): 11_744_360,
    ('wrn28-4', 4): 22_679_776,
    ('shufflenetv2-0.5', 4): 1_754_272,
    ('shufflenetv2-1.0', 4): 5_331_752,
    # HCGNet: x4 is their HCGNet_b (stem + first hybrid block + first transition shared).
    ('hcgnet-a1', 2): 2_205_302,
    ('hcgnet-a1', 4): 4_057_426,
    ('hcgnet-a2', 2): 6_267_358,
    ('hcgnet-a2', 4): 11_169_209,
}
COHORT_CONFIGS = [(prefix, net, m) for (net, m) in AUTHORS_PARAMS
                  for prefix in ('mcl/mcl', 'mcl/baselines/independent', 'dml/dml')]


@pytest.mark.parametrize('prefix, net, members', COHORT_CONFIGS, ids=lambda v: str(v))
def test_cohort_parameter_counts_equal_the_authors(prefix, net, members):
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    path = osp.join(REPO, 'configs', f'{prefix}_{net}x{members}_1xb128-300e_cifar100.py')
    model = MODELS.build(Config.fromfile(path).model)
    unique = {id(p): p.numel() for member in model.members for p in member.parameters()}  # shared trunk once
    assert sum(unique.values()) == AUTHORS_PARAMS[(net, members)], path


LOGIT_KD_X4 = ('wrn16-2', 'wrn40-2', 'wrn28-4', 'shufflenetv2-1.0', 'hcgnet-a2')


@pytest.mark.parametrize('net', LOGIT_KD_X4)
def test_x4_logit_kd_rows_distil_only_the_last_member(net):
    """The authors' "MCL (x4) + Logit KD" CIFAR rows: the x4 multi-branch net, logit KD weight 1 at T 3, and
    only the last member as student (their M = 4 code)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mcl', f'mcl_{net}x4-logitkd_1xb128-300e_cifar100.py'))
    x4 = Config.fromfile(osp.join(REPO, 'configs', 'mcl', f'mcl_{net}x4_1xb128-300e_cifar100.py'))
    assert cfg.model.loss.loss_weights.kd == 1.0 and cfg.model.loss.kd_students == 'last'
    assert cfg.model.loss.kl_temperature == 3.0
    assert cfg.model.members == x4.model.members and cfg.model.shared_trunk == x4.model.shared_trunk
    # Its baseline is the same cohort with the logit KD alone: what the contrast adds on top of it.
    kd_only = Config.fromfile(osp.join(REPO, 'configs', 'mcl', 'baselines', f'logitkd_{net}x4_1xb128-300e_cifar100.py'))
    weights = kd_only.model.loss.loss_weights
    assert weights.kd == 1.0 and kd_only.model.loss.kd_students == 'last' and kd_only.model.memory is None
    assert all(weights[k] == 0 for k in ('vcl', 'icl', 'soft_vcl', 'soft_icl'))


def test_cifar_cosine_is_stepped_per_epoch_like_the_authors():
    """The authors set lr = 0.5 * 0.1 * (1 + cos(pi * epoch / 300)) at the start of each epoch."""
    import math

    import torch
    from mmengine.optim.scheduler import CosineAnnealingLR
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mcl', 'mcl_resnet32x2_1xb128-300e_cifar100.py'))
    sched = dict(cfg.param_scheduler)
    assert sched.pop('type') == 'CosineAnnealingLR' and not sched.get('convert_to_iter_based', False)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.optim_wrapper.optimizer.lr)
    scheduler = CosineAnnealingLR(optimizer, **sched)
    for epoch in range(300):
        assert optimizer.param_groups[0]['lr'] == pytest.approx(
            0.05 * (1 + math.cos(math.pi * epoch / 300)), abs=1e-12), epoch
        scheduler.step()  # mmengine steps an epoch-based scheduler once per epoch


# One net of each family: half the authors' x2 cohort count (backbone + classifier, num_classes=100).
AUTHORS_SINGLE = {net: AUTHORS_PARAMS[(net, 2)] // 2 for (net, m) in AUTHORS_PARAMS if m == 2}
LMCL_TABLE_PAIRS = {
    'resnet32-resnet110': ('resnet32', 'resnet110'),
    'resnet56-resnet110': ('resnet56', 'resnet110'),
    'wrn16-2-wrn40-2': ('wrn16-2', 'wrn40-2'),
    'wrn40-2-wrn28-4': ('wrn40-2', 'wrn28-4'),
    'resnet56-wrn40-2': ('resnet56', 'wrn40-2'),
    'resnet110-wrn28-4': ('resnet110', 'wrn28-4'),
    'shufflenetv2-1.0-resnet110': ('shufflenetv2-1.0', 'resnet110'),
    'shufflenetv2-1.0-wrn40-2': ('shufflenetv2-1.0', 'wrn40-2'),
    'shufflenetv2-0.5x2': ('shufflenetv2-0.5', 'shufflenetv2-0.5'),
    'shufflenetv2-1.0x2': ('shufflenetv2-1.0', 'shufflenetv2-1.0'),
    'hcgnet-a1x2': ('hcgnet-a1', 'hcgnet-a1'),
    'hcgnet-a2x2': ('hcgnet-a2', 'hcgnet-a2'),
}


@pytest.mark.parametrize('pair', list(LMCL_TABLE_PAIRS))
def test_lmcl_table_members_are_the_authors_nets(pair):
    """Each member's main path (what is exported) has exactly the authors' baseline parameter count."""
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lmcl', f'lmcl-v2_{pair}_1xb128-300e_cifar100.py'))
    model = MODELS.build(cfg.model)
    counts = [sum(p.numel() for p in member.parameters()) for member in model.members]
    assert counts == [AUTHORS_SINGLE[net] for net in LMCL_TABLE_PAIRS[pair]]
    assert len(model.branches) == 2 and all(b.num_branches == 2 for b in model.branches)


# The authors' lmcl_hcgnet_cifar Auxiliary_Classifier (both branches, classifiers included): copies of block 2,
# transition 2, block 3 + BN for the first, block 3 + BN for the second, a Linear(C, 100) each.
AUTHORS_HCGNET_BRANCH_PARAMS = {'hcgnet-a1': 1_478_429, 'hcgnet-a2': 4_114_546}


@pytest.mark.parametrize('net', list(AUTHORS_HCGNET_BRANCH_PARAMS))
def test_hcgnet_layout_and_lmcl_branches_are_the_authors(net):
    """Stage widths / resolutions of the authors' CIFAR HCGNet, the x4 trunk it shares, and L-MCL branches with
    exactly the parameters of their auxiliary classifiers."""
    import torch
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    arch = net.split('-')[1].upper()
    backbone = MODELS.build(dict(type='HCGNet', arch=arch, out_indices=(0, 1, 2)))
    backbone.eval()  # (mmpretrain's BaseBackbone.train returns None)
    widths = {'A1': (60, 126, 414), 'A2': (120, 204, 716)}[arch]
    with torch.no_grad():
        outs = backbone(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, widths[0], 16, 16), (2, widths[1], 8, 8), (2, widths[2], 8, 8)]
    assert tuple(backbone.stage_channels) == widths and backbone.out_channels == widths[2]
    assert outs[-1].min() >= 0  # after the final BN-ReLU
    growth = {'A1': (12, 24, 36), 'A2': (24, 36, 64)}[arch]
    explicit = MODELS.build(dict(type='HCGNet', growth_rate=growth, blocks=(8, 8, 8)))
    assert [p.shape for p in explicit.parameters()] == [p.shape for p in backbone.parameters()]
    # x4: conv1 + layer1 (block 1 and transition 1) shared, what the authors' HCGNet_b shares.
    shared = sum(p.numel() for m in (backbone.conv1, backbone.layer1) for p in m.parameters())
    single = AUTHORS_SINGLE[net]
    assert shared + 4 * (single - shared) == AUTHORS_PARAMS[(net, 4)]

    cfg = Config.fromfile(osp.join(REPO, 'configs', 'lmcl', f'lmcl-v1_{net}x2_1xb128-300e_cifar100.py'))
    model = MODELS.build(cfg.model)
    for branches in model.branches:
        assert branches.taps == ('layer1', 'layer2')
        own = sum(p.numel() for name, p in branches.named_parameters() if not name.startswith('embed_heads.'))
        assert own == AUTHORS_HCGNET_BRANCH_PARAMS[net]
        first = branches.branches[0]
        assert [type(m).__name__ for m in first] == ['Sequential', 'Sequential', 'BatchNorm2d', 'ReLU']
        assert hasattr(first[0], 'transition') and not hasattr(first[1], 'transition')


# The authors' ImageNet nets (backbone + 1000-class classifier): torchvision's ResNet-18 / ResNet-50 and their
# models/shufflenetv2_imagenet.py ShuffleNetV2_1x_imagenet (= torchvision's shufflenet_v2_x1_0).
AUTHORS_IN1K_SINGLE = {'shufflenetv2-1.0': 2_278_604, 'resnet18': 11_689_512, 'resnet50': 25_557_032}
LMCL_IN1K_SHUFFLENET_PAIRS = {
    'shufflenetv2-1.0x2': ('shufflenetv2-1.0', 'shufflenetv2-1.0'),
    'shufflenetv2-1.0-resnet18': ('shufflenetv2-1.0', 'resnet18'),
    'shufflenetv2-1.0-resnet50': ('shufflenetv2-1.0', 'resnet50'),
}


@pytest.mark.parametrize('prefix', ['lmcl/lmcl-v1', 'lmcl/lmcl-v2', 'mcl/baselines/independent'])
@pytest.mark.parametrize('pair', list(LMCL_IN1K_SHUFFLENET_PAIRS))
def test_lmcl_imagenet_members_are_the_authors_nets(pair, prefix):
    """The authors' ImageNet ShuffleNetV2 rows: each member's main path has exactly the authors' baseline
    parameter count (L-MCL configs and their independent baselines), 4 stages per net, their recipe."""
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'{prefix}_{pair}_8xb32-100e_in1k.py'))
    if cfg.model.get('memory') is not None:
        cfg.model.memory.num_samples = 8  # the 1.28 M-slot banks are not needed to count parameters
    model = MODELS.build(cfg.model)
    counts = [sum(p.numel() for p in member.parameters()) for member in model.members]
    assert counts == [AUTHORS_IN1K_SINGLE[net] for net in LMCL_IN1K_SHUFFLENET_PAIRS[pair]]
    if prefix.startswith('lmcl'):
        assert model.num_stages == [4, 4]
        assert [b.in_channels for b in model.branches] == [m.head.in_channels for m in model.members]
    # Nothing ShuffleNetV2-specific in the authors' ImageNet recipe: the ResNet rows' optimizer and schedule.
    ref = Config.fromfile(osp.join(REPO, 'configs', 'lmcl', 'lmcl-v2_resnet18-resnet50_8xb32-100e_in1k.py'))
    assert cfg.optim_wrapper == ref.optim_wrapper and cfg.param_scheduler == ref.param_scheduler
    assert cfg.train_cfg == ref.train_cfg and cfg.train_dataloader.batch_size == 32
    assert cfg.auto_scale_lr == ref.auto_scale_lr


LMCL_V2 = sorted(glob.glob(osp.join(REPO, 'configs', 'lmcl', 'lmcl-v2_*.py')))


@pytest.mark.parametrize('path', LMCL_V2, ids=osp.basename)
def test_lmcl_v2_recipes_look_ahead_like_the_authors(path):
    """The reproduction configs take the authors' MetaSGD look-ahead (momentum from zero, no Nesterov); on the
    demo world it was measured against the network-optimizer look-ahead (docs/demo/lmcl/lookahead.md)."""
    cfg = Config.fromfile(path)
    assert cfg.model.mode == 'v2' and cfg.model.meta.lookahead == 'authors', path
