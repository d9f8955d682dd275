"""Config values that cannot train right are refused when the model or sampler is built, naming the setting;
the tools turn them into one line before any step."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import COHORT_TEST_CONFIG, REPO, run_tool

from mcl_mm.datasets.samplers import MPerClassSampler
from mcl_mm.engine.hooks.epoch_seed_hook import epoch_seed
from mcl_mm.models.losses import DMLLoss, MCLLoss
from mcl_mm.models.losses.contrastive import inbatch_contrast_losses
from mcl_mm.models.utils.checks import check_cohort_size, checked_objective
from mcl_mm.utils.errors import ConfigError, DataError

MCL_BASE = osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py')


@pytest.mark.parametrize('tau', [0, -0.1, math.inf, math.nan, 'abc', None, True])
def test_a_temperature_that_cannot_work_is_refused_by_name(tau):
    with pytest.raises(ConfigError, match=r'MCL tau must be a finite number > 0'):
        MCLLoss(tau=tau)
    with pytest.raises(ConfigError, match='kl_temperature'):
        MCLLoss(kl_temperature=tau)
    with pytest.raises(ConfigError, match='DMLLoss kl_temperature'):
        DMLLoss(kl_temperature=tau)


def test_an_infinite_temperature_would_silently_switch_the_contrast_off():
    """Why inf is refused: every relation logit is 0, so the contrast terms are the same constants for any
    embeddings, with no gradient: MCL would train like independent networks."""
    labels = torch.arange(4).repeat_interleave(2)
    values, grads = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        raw = [torch.randn(8, 4, requires_grad=True) for _ in range(2)]
        terms = inbatch_contrast_losses([torch.nn.functional.normalize(r, dim=1) for r in raw],
                                        labels,
                                        tau=math.inf,
                                        kl_temperature=3.0)
        values.append(torch.stack([terms[k].detach() for k in sorted(terms)]))
        grads += [g for g in torch.autograd.grad(sum(terms.values()), raw, allow_unused=True) if g is not None]
    torch.testing.assert_close(values[0], values[1])
    assert all(float(g.abs().max()) == 0 for g in grads)


@pytest.mark.parametrize('weight', [-1, math.nan, math.inf, 'x'])
def test_loss_weights_must_be_finite_and_non_negative(weight):
    with pytest.raises(ConfigError, match='loss weight vcl must be >= 0 and finite'):
        checked_objective(dict(vcl=weight), dict(vcl=0.1), 0.1, 3.0, 'MCL')
    with pytest.raises(KeyError, match='valid keys'):
        checked_objective(dict(nope=1), dict(vcl=0.1), 0.1, 3.0, 'MCL')


@pytest.mark.parametrize('members', [0, 1])
def test_a_cohort_needs_two_members(members):
    with pytest.raises(ConfigError, match='at least 2 members'):
        check_cohort_size(members)


class _Labels:

    def __init__(self, labels):
        self.labels = labels

    def get_gt_labels(self):
        return np.asarray(self.labels)

    def __len__(self):
        return len(self.labels)


@pytest.mark.parametrize('images, batch_size, m, needle', [(40, 8, 0, 'm >= 1'), (40, 9, 2, 'multiple of m'),
                                                           (40, 16, 2, 'needs 8 distinct classes'),
                                                           (4, 8, 2, 'no whole batch')])
def test_impossible_sampler_settings_are_config_errors(images, batch_size, m, needle):
    dataset = _Labels([i % 4 for i in range(images)])  # 4 classes
    with pytest.raises(ConfigError, match=needle):
        MPerClassSampler(dataset, batch_size=batch_size, m=m, seed=0)


def test_epoch_seed_is_a_function_of_seed_and_epoch():
    assert epoch_seed(0, 3) == epoch_seed(0, 3)
    assert len({epoch_seed(s, e) for s in range(3) for e in range(3)}) == 9


@pytest.mark.slow
def test_the_tools_turn_bad_values_into_one_line(tmp_path, cls_data):
    cfg = tmp_path / 'inbatch.py'
    cfg.write_text(
        COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=1, model_extra='memory=None') +
        "\ntrain_dataloader.update(sampler=dict(type='MPerClassSampler', batch_size=8, m=2, _delete_=True))\n"
        "custom_hooks = []\n")
    cases = [('model.loss.tau=inf', 'tau must be a finite number > 0'), ('model.loss.tau=abc', "got 'abc'"),
             ('model.loss.tau=0', 'got 0'), ('model.num_members=1', 'at least 2 members'),
             ('model.loss.loss_weights.vcl=nan', 'loss weight vcl'),
             ('train_dataloader.sampler.m=3', 'multiple of m')]  # built by runner.train(): the run_loop path
    for i, (option, needle) in enumerate(cases):
        code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / str(i), '--cfg-options', option, expect_ok=False)
        assert code != 0 and 'Traceback' not in out, out[-3000:]
        assert needle in out, (option, out[-2000:])
        assert not (tmp_path / str(i) / 'epoch_1.pth').exists()


class _Broken(torch.utils.data.Dataset):

    def __len__(self):
        return 2

    def __getitem__(self, index):
        raise DataError(f'cannot load image {index}.png: truncated. Fix or remove the file')


def test_an_error_in_a_data_loader_worker_keeps_its_one_line():
    """torch re-raises a worker's error as 'Caught DataError in DataLoader worker process 0.' + the worker's
    traceback; the tools print the worker's message, not that header."""
    from mcl_mm.utils.cli import error_line
    with pytest.raises(DataError) as info:
        next(iter(torch.utils.data.DataLoader(_Broken(), num_workers=1)))
    assert str(info.value).startswith('Caught DataError in DataLoader worker')
    assert error_line(info.value) == 'cannot load image 0.png: truncated. Fix or remove the file'
    assert error_line(ConfigError('one\ntwo')) == 'one'
