"""The MCL cohort algorithm: every config builds; loss / predict / metric behave; shared trunk; baselines."""
import glob
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mcl_mm.evaluation import CohortAccuracy
from mcl_mm.registry import MODELS

init_default_scope('mcl_mm')

MCL_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'mcl', 'mcl_*.py')))
BASELINE_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'mcl', 'baselines', '*.py')))


def _small_model_cfg(path):
    cfg = Config.fromfile(path)
    model = cfg.model
    if model.get('memory') is not None:
        model.memory.num_samples = 100  # a 1.28M-slot bank per member is not needed to check the build
    return cfg, model


def test_config_inventory():
    names = {osp.basename(p) for p in MCL_CONFIGS}
    for required in ('mcl_resnet18x2_8xb32-100e_in1k.py', 'mcl_resnet18x4_8xb32-100e_in1k.py',
                     'mcl_resnet34x2_8xb32-100e_in1k.py', 'mcl_resnet34x4_8xb32-100e_in1k.py',
                     'mcl_resnet18x4-logitkd_8xb32-100e_in1k.py', 'mcl_resnet18-resnet50_8xb32-100e_in1k.py'):
        assert required in names
    for net in ('resnet32', 'resnet56', 'resnet110', 'wrn16-2', 'wrn40-2', 'hcgnet-a1', 'hcgnet-a2'):
        for m in (2, 4):
            assert f'mcl_{net}x{m}_1xb128-300e_cifar100.py' in names
    # One baseline per MCL config, plus the baselines of L-MCL rows without an MCL config (their header names
    # the L-MCL configs, which must exist).
    lmcl_only = {p: open(p).read().split('\n')[0] for p in BASELINE_CONFIGS}
    lmcl_only = {p: line for p, line in lmcl_only.items() if line.startswith('# Baseline for lmcl-{v1,v2}_')}
    for line in lmcl_only.values():
        name = line.split('lmcl-{v1,v2}_')[1].split('.py')[0]
        for v in ('v1', 'v2'):
            assert osp.exists(osp.join(REPO, 'configs', 'lmcl', f'lmcl-{v}_{name}.py')), line
    assert len(BASELINE_CONFIGS) - len(lmcl_only) == len(MCL_CONFIGS)


@pytest.mark.parametrize('path', MCL_CONFIGS + BASELINE_CONFIGS, ids=osp.basename)
def test_every_config_builds_its_model(path):
    cfg, model_cfg = _small_model_cfg(path)
    model = MODELS.build(model_cfg)
    expected = model_cfg.num_members or len(model_cfg.members)
    assert model.num_members == expected
    baseline = 'baselines' in path
    assert (model.embed_heads is None) == baseline
    assert (model.memory is None) == (baseline or 'cifar100' in path)
    size = 32 if 'cifar100' in path else 64
    logits = model(torch.randn(2, 3, size, size), mode='tensor')
    num_classes = 100 if 'cifar100' in path else 1000
    assert [tuple(z.shape) for z in logits] == [(2, num_classes)] * expected


def test_heterogeneous_and_shared_trunk_cohorts():
    _, hetero = _small_model_cfg(osp.join(REPO, 'configs/mcl/mcl_resnet18-resnet50_8xb32-100e_in1k.py'))
    model = MODELS.build(hetero)
    assert [m.backbone.depth for m in model.members] == [18, 50]
    assert [h.in_channels for h in model.embed_heads] == [512, 2048]

    _, shared = _small_model_cfg(osp.join(REPO, 'configs/mcl/mcl_resnet18x4-sharedtrunk_8xb32-100e_in1k.py'))
    model = MODELS.build(shared)
    first = model.members[0].backbone
    for member in model.members[1:]:
        assert member.backbone.layer1 is first.layer1 and member.backbone.conv1 is first.conv1
        assert member.backbone.layer3 is not first.layer3
    # Shared parameters are counted once; every member's state dict still holds its complete backbone.
    n_params = sum(p.numel() for p in model.parameters())
    independent = MODELS.build(_small_model_cfg(osp.join(REPO, 'configs/mcl/mcl_resnet18x4_8xb32-100e_in1k.py'))[1])
    assert n_params < sum(p.numel() for p in independent.parameters())
    keys = model.state_dict().keys()
    assert 'members.3.backbone.layer1.0.conv1.weight' in keys and 'members.3.backbone.layer4.1.bn2.bias' in keys


def _tiny_cohort(memory=True, **loss):
    member = dict(
        backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=512, topk=(1, )))
    cfg = dict(
        type='MCL',
        members=member,
        num_members=2,
        loss=dict(tau=0.1, **loss),
        memory=dict(num_samples=12, pos_k=1, neg_k=5) if memory else None)
    model = MODELS.build(cfg)
    if memory:
        model.memory.set_labels(torch.arange(12) % 3)
    return model


def _batch(n=6, size=32):
    samples = [DataSample(metainfo=dict(sample_idx=i)).set_gt_label(i % 3) for i in range(n)]
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(0)), samples


def test_loss_logs_every_term_and_trains_every_member():
    model = _tiny_cohort(loss_weights=dict(kd=1.0))
    inputs, samples = _batch()
    bank_before = model.memory.banks.clone()
    losses = model.loss(inputs, samples)
    assert set(losses) == {
        'loss_ce_m0', 'loss_ce_m1', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl', 'loss_kd'
    }
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # Only the anchors' slots (0..5) moved.
    moved = (model.memory.banks != bank_before).any(-1).any(0)
    assert moved[:6].all() and not moved[6:].any()


def test_independent_baseline_has_only_cross_entropy():
    model = _tiny_cohort(memory=False, loss_weights=dict(vcl=0, icl=0, soft_vcl=0, soft_icl=0))
    inputs, samples = _batch()
    assert set(model.loss(inputs, samples)) == {'loss_ce_m0', 'loss_ce_m1'}
    assert model.embed_heads is None
    with pytest.raises(ValueError, match='every contrastive loss weight is 0'):
        _tiny_cohort(memory=True, loss_weights=dict(vcl=0, icl=0, soft_vcl=0, soft_icl=0))


def test_predict_and_cohort_accuracy():
    model = _tiny_cohort().eval()
    inputs, samples = _batch()
    preds = model.predict(inputs, samples)
    scores = torch.stack([p.member_scores for p in preds])  # (B, M, C)
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), scores.mean(1))

    metric = CohortAccuracy(topk=(1, 2))
    metric.process(None, [p.to_dict() for p in preds])
    result = metric.compute_metrics(metric.results)
    target = torch.arange(6) % 3
    for i in range(2):
        ref = (scores[:, i].argmax(1) == target).float().mean().item() * 100
        assert result[f'member_{i}/top1'] == pytest.approx(ref)
    assert result['ensemble/top1'] == pytest.approx((scores.mean(1).argmax(1) == target).float().mean().item() * 100)
    assert set(result) == {
        'member_0/top1', 'member_0/top2', 'member_1/top1', 'member_1/top2', 'ensemble/top1', 'ensemble/top2'
    }


def test_bad_member_configuration_is_a_clear_error():
    member = dict(
        backbone=dict(type='ResNet', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=512))
    with pytest.raises(ValueError, match='at least 2 members'):
        MODELS.build(dict(type='MCL', members=[member]))
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(dict(type='MCL', members=dict(member, bakbone=1), num_members=2))
    with pytest.raises(ValueError, match='identical member backbones'):
        MODELS.build(
            dict(
                type='MCL',
                members=[member, dict(member, backbone=dict(type='ResNet', depth=34))],
                shared_trunk=['layer1']))


def test_cifar_backbones_keep_spatial_resolution_for_32px():
    """The CIFAR nets end at 8x8 (ResNet / WRN) or 4x4 (ShuffleNetV2 with the CIFAR stem) on 32x32 input."""
    x = torch.randn(2, 3, 32, 32)
    expected = {
        ('CifarResNet', 32): (64, 8),
        ('WideResNet', 40): (128, 8),
        ('CifarShuffleNetV2', 0.5): (1024, 4),
        ('CifarShuffleNetV2', 1.0): (1024, 4)
    }
    for (kind, arg), (channels, size) in expected.items():
        cfg = dict(type=kind, depth=arg) if kind != 'CifarShuffleNetV2' else dict(type=kind, widen_factor=arg)
        if kind == 'WideResNet':
            cfg['widen_factor'] = 2
        out = MODELS.build(cfg)(x)[-1]
        assert tuple(out.shape) == (2, channels, size, size), kind
    n_params = sum(p.numel() for p in MODELS.build(dict(type='CifarResNet', depth=32)).parameters())
    assert 0.45e6 < n_params < 0.48e6  # ResNet-32: 0.46 M parameters as in the paper's tables


def test_metafile_lists_every_mcl_config():
    import yaml
    meta = yaml.safe_load(open(osp.join(REPO, 'configs', 'mcl', 'metafile.yml')))
    listed = [m['Config'] for m in meta['Models']]
    assert sorted(listed) == sorted(osp.relpath(p, REPO) for p in MCL_CONFIGS)
    for model in meta['Models']:
        assert model['Name'] == osp.basename(model['Config'])[:-3]
