"""DML, the online-KD baseline: the mimicry term against a naive loop, the algorithm, and its configs."""
import glob
import math
import os.path as osp

import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mcl_mm.models.losses import DMLLoss, deep_mutual_kl
from mcl_mm.registry import MODELS

init_default_scope('mcl_mm')

DML_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'dml', '*.py'))) + [
    osp.join(REPO, 'configs', 'demo', 'dml_resnet18w16x2_1xb32-15e_digits.py'),
    osp.join(REPO, 'configs', 'study', 'dml_resnet20x2_1xb64-30e_two-digits.py'),
]


def naive_dml(logits, temperature):
    """sum_i 1/(M-1) sum_{j != i} T^2 mean_b sum_c p_j log(p_j / p_i), written out element by element."""
    num_members, batch, classes = len(logits), logits[0].shape[0], logits[0].shape[1]
    total = 0.0
    for i in range(num_members):
        for j in range(num_members):
            if i == j:
                continue
            kl = 0.0
            for b in range(batch):
                zi = [float(v) / temperature for v in logits[i][b]]
                zj = [float(v) / temperature for v in logits[j][b]]
                log_zi = math.log(sum(math.exp(v) for v in zi))
                log_zj = math.log(sum(math.exp(v) for v in zj))
                for c in range(classes):
                    log_pi, log_pj = zi[c] - log_zi, zj[c] - log_zj
                    kl += math.exp(log_pj) * (log_pj - log_pi)
            total += temperature**2 * kl / batch / (num_members - 1)
    return total


@pytest.mark.parametrize('num_members,temperature', [(2, 1.0), (3, 3.0), (4, 2.0)])
def test_deep_mutual_kl_matches_naive_loop(num_members, temperature):
    gen = torch.Generator().manual_seed(num_members)
    logits = [torch.randn(5, 7, generator=gen, dtype=torch.float64) * 3 for _ in range(num_members)]
    got = deep_mutual_kl(logits, temperature)
    assert got.item() == pytest.approx(naive_dml(logits, temperature), rel=1e-9, abs=1e-12)


def test_deep_mutual_kl_teachers_are_detached():
    """Member i's gradient comes only from its own term: the peers' predictions are fixed targets."""
    a = torch.randn(4, 5, requires_grad=True)
    b = torch.randn(4, 5, requires_grad=True)
    deep_mutual_kl([a, b.detach()], 1.0).backward()
    grad_a_alone = a.grad.clone()
    a.grad = None
    deep_mutual_kl([a, b], 1.0).backward()
    torch.testing.assert_close(a.grad, grad_a_alone)  # b's term (teacher a) adds nothing to a's gradient
    assert b.grad is not None and b.grad.abs().sum() > 0
    # Identical predictions: nothing to mimic.
    assert deep_mutual_kl([a.detach(), a.detach().clone()], 2.0).item() == pytest.approx(0.0, abs=1e-7)


def test_dml_loss_validation_and_weight():
    logits = [torch.randn(3, 4), torch.randn(3, 4)]
    assert DMLLoss(loss_weight=2.5)(logits).item() == pytest.approx(2.5 * deep_mutual_kl(logits, 1.0).item())
    with pytest.raises(ValueError, match='kl_temperature'):
        DMLLoss(kl_temperature=0)
    with pytest.raises(ValueError, match='loss_weight'):
        DMLLoss(loss_weight=-1)
    with pytest.raises(ValueError, match='at least 2'):
        deep_mutual_kl([torch.randn(2, 3)])


def _tiny_dml(**kwargs):
    member = dict(
        backbone=dict(type='CifarResNet', depth=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=64, topk=(1, )))
    return MODELS.build(dict(type='DML', members=member, num_members=2, **kwargs))


def test_dml_trains_every_member_and_predicts_the_ensemble():
    model = _tiny_dml(loss=dict(kl_temperature=2.0))
    inputs = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    samples = [DataSample().set_gt_label(i % 3) for i in range(6)]
    losses = model.loss(inputs, samples)
    assert set(losses) == {'loss_ce_m0', 'loss_ce_m1', 'loss_dml'}
    logits = model(inputs, mode='tensor')
    assert losses['loss_dml'].item() == pytest.approx(naive_dml([z.detach() for z in logits], 2.0), rel=1e-4)
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    model.eval()
    out = model.predict(inputs)
    scores = torch.stack([z.softmax(1) for z in model(inputs, mode='tensor')], 1)
    torch.testing.assert_close(torch.stack([s.pred_score for s in out]), scores.mean(1))
    assert out[0].member_scores.shape == (2, 3)
    with pytest.raises(TypeError):
        _tiny_dml(memory=dict(num_samples=10))  # DML has no bank: an MCL-only key is an error, not ignored


@pytest.mark.parametrize('path', DML_CONFIGS, ids=osp.basename)
def test_every_dml_config_builds_beside_its_mcl_config(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'DML'
    assert not any('embed' in name for name, _ in model.named_modules())
    name = osp.basename(path)
    mcl_path = osp.join(osp.dirname(path), name.replace('dml_', 'mcl_', 1))
    if 'configs/dml/' in path:
        mcl_path = osp.join(REPO, 'configs', 'mcl', name.replace('dml_', 'mcl_', 1))
    mcl = Config.fromfile(mcl_path)
    # Same members, data, schedule: only the objective differs.
    assert cfg.model.members == mcl.model.members
    assert cfg.model.get('shared_trunk') == mcl.model.get('shared_trunk')
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert cfg[key] == mcl[key], key
    mcl_model = MODELS.build(
        mcl.model if mcl.model.get('memory') is
        None else dict(mcl.model, memory=dict(mcl.model.memory, num_samples=10)))
    assert [m.backbone.__class__ for m in model.members] == [m.backbone.__class__ for m in mcl_model.members]
    member_params = sum(p.numel() for p in model.members.parameters())
    assert member_params == sum(p.numel() for p in mcl_model.members.parameters())


def test_the_old_temperature_key_still_works_with_a_deprecation_warning():
    """One name for the softening temperature across MCL, L-MCL and DML (kl_temperature); configs written with
    DML's old ``temperature`` keep their meaning."""
    logits = [torch.randn(3, 4), torch.randn(3, 4)]
    with pytest.warns(FutureWarning, match="'temperature' is deprecated, use 'kl_temperature'"):
        old = DMLLoss(temperature=2.0)
    assert old.kl_temperature == 2.0
    assert old(logits).item() == pytest.approx(DMLLoss(kl_temperature=2.0)(logits).item())
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        DMLLoss(temp=2.0)  # a misspelt key
    with pytest.warns(FutureWarning):
        model = _tiny_dml(loss=dict(temperature=2.0))
    assert model.loss_module.kl_temperature == 2.0
