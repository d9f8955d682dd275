"""tools/train.py runs the project's MCL configs (bank path and in-batch path) on generated image folders."""
import glob
import json
import os.path as osp

import pytest
import torch
from helpers import COHORT_TEST_CONFIG, REPO, run_tool

pytestmark = pytest.mark.slow  # end-to-end runs of tools/train.py

TERMS = ('loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl')


def _run(tmp_path, base, model_extra, data):
    cfg = tmp_path / 'mcl.py'
    # The CIFAR recipes' MPerClassSampler composes the batches itself: it takes the test's batch size too.
    sampler = "train_dataloader['sampler'] = dict(batch_size=8)\n" if 'cifar100' in base else ''
    cfg.write_text(
        COHORT_TEST_CONFIG.format(base=osp.join(REPO, base), root=data['root'], model_extra=model_extra, epochs=2) +
        sampler)
    work_dir = tmp_path / 'work'
    _, out = run_tool('train.py', cfg, '--work-dir', work_dir)
    scalars = sorted(glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json')))[-1]
    return work_dir, out, [json.loads(line) for line in open(scalars)]


def test_mcl_bank_path_trains_all_members_and_logs_every_term(tmp_path, cls_data):
    work_dir, out, records = _run(tmp_path, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py',
                                  "memory=dict(num_samples=32, neg_k=16)", cls_data)
    train = [r for r in records if 'loss' in r]
    assert len(train) == 8  # 2 epochs x 4 iterations, logged every iteration
    for key in TERMS + ('loss_ce_m0', 'loss_ce_m1'):
        assert all(key in r and r[key] == r[key] for r in train), key  # present and not NaN
    val = [r for r in records if 'cohort/ensemble/top1' in r]
    assert len(val) == 2 and all('cohort/member_0/top1' in r and 'cohort/member_1/top1' in r for r in val)
    assert 'label table filled from the training set' in out

    ckpt = torch.load(work_dir / 'epoch_2.pth', map_location='cpu', weights_only=False)
    state = ckpt['state_dict']
    # The banks, their label table and the draw counter travel in the checkpoint.
    assert state['memory.banks'].shape == (2, 32, 128)
    assert torch.equal(state['memory.labels'].sort().values, torch.arange(4).repeat_interleave(8))
    assert int(state['memory.num_updates']) == 8
    assert torch.allclose(state['memory.banks'].norm(dim=-1), torch.ones(2, 32), atol=1e-5)  # every slot written


def test_mcl_inbatch_path_with_m_per_class_sampler(tmp_path, cls_data):
    work_dir, _, records = _run(tmp_path, 'configs/mcl/mcl_resnet32x2_1xb128-300e_cifar100.py', "memory=None", cls_data)
    train = [r for r in records if 'loss' in r]
    assert len(train) == 8 and all(all(k in r for k in TERMS) for r in train)
    assert any('cohort/ensemble/top1' in r for r in records)


def test_bank_size_mismatch_stops_before_training(tmp_path, cls_data):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(
        COHORT_TEST_CONFIG.format(
            base=osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py'),
            root=cls_data['root'],
            model_extra='memory=dict(num_samples=30)',
            epochs=2))
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'work', expect_ok=False)
    assert code != 0
    assert 'num_samples=30 slots but the training set has 32 samples' in out
    assert 'model.memory.num_samples=32' in out
