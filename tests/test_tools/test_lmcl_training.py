"""L-MCL end to end through tools/train.py on generated image folders: both modes, every term logged, the
meta step running, resume restoring the weight network's optimizer, and the exported backbone."""
import glob
import json
import os.path as osp

import pytest
import torch
from helpers import COHORT_TEST_CONFIG, REPO, run_tool

pytestmark = pytest.mark.slow  # end-to-end runs of tools/train.py

TERMS = ('vcl', 'soft_vcl', 'icl', 'soft_icl')

# No random augmentation: the global RNG is not in checkpoints, so a resumed run only repeats the
# uninterrupted one when the pipeline is deterministic (the M-per-class sampler is seeded per epoch).
DETERMINISTIC = "\ntrain_dataloader['dataset']['pipeline'] = test_pipeline\n"


def _train(tmp_path, base, model_extra, data, epochs, *extra_args, name='work'):
    cfg = tmp_path / f'{name}.py'
    # The CIFAR recipes' MPerClassSampler composes the batches itself: it takes the test's batch size too.
    sampler = "train_dataloader['sampler'] = dict(batch_size=8)\n" if 'cifar100' in base else ''
    cfg.write_text(
        COHORT_TEST_CONFIG.format(base=osp.join(REPO, base), root=data['root'], model_extra=model_extra, epochs=epochs)
        + DETERMINISTIC + sampler)
    work_dir = tmp_path / name
    _, out = run_tool('train.py', cfg, '--work-dir', work_dir, *extra_args)
    scalars = sorted(glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json')))[-1]
    return work_dir, out, [json.loads(line) for line in open(scalars)]


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def test_lmcl_v2_trains_meta_learns_resumes_and_exports(tmp_path, cls_data):
    base = 'configs/lmcl/lmcl-v2_resnet32x2_1xb128-300e_cifar100.py'
    extra = 'memory=None, meta=dict(freq=2, times=2)'
    work, out, records = _train(tmp_path, base, extra, cls_data, 2)
    train = [r for r in records if 'loss' in r]
    assert len(train) == 8  # 2 epochs x 4 iterations
    keys = {f'loss_ce_m{i}{s}' for i in range(2) for s in ('', '_s1', '_s2', '_aggregate')}
    keys |= {f'loss_{t}' for t in TERMS} | {'loss_kd_aggregate', 'pair_weight_mean'}
    for key in keys:
        assert all(key in r and r[key] == r[key] for r in train), key  # present and not NaN
    # The meta step ran (iterations 0, 2, 4, 6) and logged its look-ahead losses.
    assert sum('meta_ce_outer' in r for r in train) >= 4
    val = [r for r in records if 'cohort/ensemble/top1' in r]
    assert len(val) == 2
    for i in range(2):
        for part in ('', 's1/', 's2/', 'aggregate/'):
            assert all(f'cohort/member_{i}/{part}top1' in r for r in val), (i, part)

    first, last = _state(work / 'epoch_1.pth'), _state(work / 'epoch_2.pth')
    assert 'weight_optimizer' in last['lmcl_meta'] and last['lmcl_meta']['weight_optimizer']['state']
    moved = [
        k for k in last['state_dict']
        if k.startswith('weight_net.') and not torch.equal(first['state_dict'][k], last['state_dict'][k])
    ]
    assert moved, 'the weight network did not change between epochs'

    # Resume from epoch 1: the second epoch repeats the uninterrupted one, weight network included.
    resumed, _, _ = _train(tmp_path, base, extra, cls_data, 2, '--resume', work / 'epoch_1.pth', name='resumed')
    again = _state(resumed / 'epoch_2.pth')
    for key, value in last['state_dict'].items():
        assert torch.allclose(value.float(), again['state_dict'][key].float(), atol=1e-5), key
    saved, restored = last['lmcl_meta']['weight_optimizer']['state'], again['lmcl_meta']['weight_optimizer']['state']
    for key in saved:
        assert torch.allclose(saved[key]['momentum_buffer'], restored[key]['momentum_buffer'], atol=1e-5)

    # Export: only the main path of member 1, strict into the member's CifarResNet.
    _, out = run_tool('model_converters/extract_backbone.py', work / 'epoch_2.pth', tmp_path / 'm1.pth', '--member', 1)
    assert 'verified strict load into mmpretrain.CifarResNet' in out
    exported = torch.load(tmp_path / 'm1.pth', map_location='cpu', weights_only=True)['state_dict']
    expected = {
        k[len('members.1.backbone.'):]: v
        for k, v in last['state_dict'].items() if k.startswith('members.1.backbone.')
    }
    assert exported.keys() == expected.keys()
    assert all(torch.equal(exported[k], expected[k]) for k in expected)


def test_lmcl_v1_bank_path_logs_every_stage_and_exports_a_resnet(tmp_path, cls_data):
    work, out, records = _train(tmp_path, 'configs/lmcl/lmcl-v1_resnet18x2_8xb32-100e_in1k.py',
                                'memory=dict(num_samples=32, neg_k=16)', cls_data, 1)
    train = [r for r in records if 'loss' in r]
    assert len(train) == 4
    stage_keys = {f'loss_{t}_{s}' for t in TERMS for s in ('s1', 's2', 's3', 'final')}
    stage_keys |= {f'loss_ce_m{i}{s}' for i in range(2) for s in ('', '_s1', '_s2', '_s3')}
    for key in stage_keys:
        assert all(key in r and r[key] == r[key] for r in train), key
    assert not any('meta_ce_outer' in r for r in train)
    val = [r for r in records if 'cohort/ensemble/top1' in r]
    assert val and all(f'cohort/member_{i}/s{k}/top1' in val[0] for i in range(2) for k in (1, 2, 3))
    assert 'cohort/member_0/aggregate/top1' not in val[0]  # v1 has no aggregator

    state = _state(work / 'epoch_1.pth')['state_dict']
    assert int(state['memory.num_updates']) == 4  # one update per iteration: the final stage only
    _, out = run_tool('model_converters/extract_backbone.py', work / 'epoch_1.pth', tmp_path / 'm0.pth', '--member', 0)
    assert 'mmpretrain.ResNet, mmdet.ResNet, mmseg.ResNet' in out
    exported = torch.load(tmp_path / 'm0.pth', map_location='cpu', weights_only=True)['state_dict']
    assert not any('branch' in k for k in exported)
    assert len(exported) == sum(k.startswith('members.0.backbone.') for k in state)
