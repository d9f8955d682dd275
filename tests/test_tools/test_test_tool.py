"""tools/test.py with mmpretrain's flags (--out-item, --tta, --amp, --show) and the downstream test launchers."""
import json
import os
import pickle
import subprocess

import pytest
import torch
from helpers import BANK, COHORT_TEST_CONFIG, REPO, run_tool

pytestmark = pytest.mark.slow
MCL_BASE = f'{REPO}/configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py'


@pytest.fixture(scope='module')
def cohort_cfg(tmp_path_factory, cls_data):
    path = tmp_path_factory.mktemp('cfg') / 'mcl.py'
    path.write_text(COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=1, model_extra=BANK))
    return str(path)


def _member_scores_by_hand(cfg_path, checkpoint, flip: bool):
    """Each member's softmax on the test images (optionally averaged with the flipped image), computed here."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    import mcl_mm.models  # noqa: F401
    from mcl_mm.engine.checkpoint import load_checkpoint_file
    from mcl_mm.registry import DATASETS, MODELS
    init_default_scope('mcl_mm')
    cfg = Config.fromfile(cfg_path)
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor)).eval()
    model.load_state_dict(load_checkpoint_file(checkpoint, map_location='cpu')['state_dict'])
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    batch = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(len(dataset))]), False)
    views = [batch['inputs']] + ([batch['inputs'].flip(-1)] if flip else [])
    with torch.no_grad():
        per_view = [torch.stack([m.head(m.extract_feat(x)).softmax(1) for m in model.members], 1) for x in views]
    return torch.stack(per_view).mean(0)  # (N, M, C)


def test_tta_averages_every_members_scores_over_flips(tmp_path, cohort_cfg, cohort_checkpoint):
    run_tool('test.py', cohort_cfg, cohort_checkpoint, '--work-dir', tmp_path / 'w', '--tta', '--out',
             tmp_path / 'tta.pkl')
    preds = pickle.load(open(tmp_path / 'tta.pkl', 'rb'))
    got = torch.stack([torch.as_tensor(p['member_scores']) for p in preds])
    expected = _member_scores_by_hand(cohort_cfg, cohort_checkpoint, flip=True)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    plain = _member_scores_by_hand(cohort_cfg, cohort_checkpoint, flip=False)
    assert not torch.allclose(got, plain, atol=1e-4)  # the flip really was averaged in
    ensemble = torch.stack([torch.as_tensor(p['pred_score']) for p in preds])
    torch.testing.assert_close(ensemble, expected.mean(1), atol=1e-5, rtol=1e-4)


def test_out_item_metrics_and_amp(tmp_path, cohort_cfg, cohort_checkpoint):
    run_tool('test.py', cohort_cfg, cohort_checkpoint, '--work-dir', tmp_path / 'w', '--out', tmp_path / 'm.json',
             '--out-item', 'metrics')
    metrics = json.load(open(tmp_path / 'm.json'))
    assert {'cohort/member_0/top1', 'cohort/member_1/top1', 'cohort/ensemble/top1'} <= set(metrics)
    # Under --amp the test loop runs in autocast (bf16 on CPU): scores close to fp32 ones, not equal.
    run_tool('test.py', cohort_cfg, cohort_checkpoint, '--work-dir', tmp_path / 'a', '--amp', '--out',
             tmp_path / 'amp.pkl')
    amp = torch.stack(
        [torch.as_tensor(p['member_scores']).float() for p in pickle.load(open(tmp_path / 'amp.pkl', 'rb'))])
    fp32 = _member_scores_by_hand(cohort_cfg, cohort_checkpoint, flip=False)
    assert torch.allclose(amp, fp32, atol=0.05) and not torch.equal(amp, fp32)
    code, out = run_tool(
        'test.py', cohort_cfg, cohort_checkpoint, '--out', tmp_path / 'm.txt', '--out-item', 'metrics', expect_ok=False)
    assert code != 0 and 'writes .json / .yaml / .pkl' in out.strip().splitlines()[-1]


def test_show_draws_headless(tmp_path, cohort_cfg, cohort_checkpoint):
    _, out = run_tool(
        'test.py',
        cohort_cfg,
        cohort_checkpoint,
        '--work-dir',
        tmp_path / 'w',
        '--show',
        '--wait-time',
        '0.01',
        '--interval',
        '5',
        '--show-dir',
        'shown',
        env=dict(MPLBACKEND='Agg'))
    # Samples 0, 5, 10, 15 of the 16 (4 classes x 4) are drawn, named after their files 00000..00003.png,
    # under work_dir/<timestamp>/shown as mmdet / mmseg do.
    drawn = sorted(f for _, _, files in os.walk(tmp_path / 'w') for f in files if f.endswith('.png'))
    assert drawn == [f'0000{i}.png_0.png' for i in range(4)]
    assert not os.path.exists(f'{REPO}/shown')
    assert 'cohort/ensemble/top1' in out


def test_downstream_test_launchers(tmp_path, cohort_cfg, cohort_checkpoint):
    for task in ('mmdetection', 'mmsegmentation'):
        script = f'{REPO}/tools/benchmarks/{task}/dist_test.sh'
        proc = subprocess.run(['bash', script, cohort_cfg, cohort_checkpoint, '1', '--work-dir',
                               str(tmp_path / task)],
                              capture_output=True,
                              text=True,
                              cwd=REPO,
                              timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert 'cohort/ensemble/top1' in proc.stdout + proc.stderr
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    proc = subprocess.run(['bash', f'{REPO}/tools/benchmarks/mmdetection/dist_test.sh', cohort_cfg,
                           str(bad), '1'],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          timeout=600)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith('test: ')
    proc = subprocess.run(['bash', f'{REPO}/tools/benchmarks/mmdetection/dist_test.sh', cohort_cfg,
                           str(bad), 'x'],
                          capture_output=True,
                          text=True,
                          cwd=REPO,
                          timeout=60)
    assert proc.returncode == 2 and 'GPUS must be the number' in proc.stderr
    assert proc.stdout == ''


def test_slurm_launchers_pass_the_tool_its_arguments(tmp_path):
    """No Slurm here: an `srun` on PATH that prints its command line shows what the launchers submit."""
    shim = tmp_path / 'bin'
    shim.mkdir()
    (shim / 'srun').write_text('#!/usr/bin/env bash\necho "SRUN $*"\n')
    (shim / 'srun').chmod(0o755)
    env = dict(os.environ, PATH=f'{shim}:{os.environ["PATH"]}', GPUS='16', PYTHON='py')
    for script, args, expected in (('slurm_train.sh', ['cfg.py', 'wd', '--amp'],
                                    'tools/train.py cfg.py --work-dir=wd --amp --launcher=slurm'),
                                   ('slurm_test.sh', ['cfg.py', 'ck.pth',
                                                      '--tta'], 'tools/test.py cfg.py ck.pth --tta --launcher=slurm')):
        proc = subprocess.run(['bash', f'{REPO}/tools/{script}', 'gpu', 'job', *args],
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=60)
        line = proc.stdout.strip()
        assert proc.returncode == 0 and line.startswith('SRUN -p gpu --job-name=job --gres=gpu:8 --ntasks=16 '), line
        assert line.endswith(expected) and ' py -u ' in line, line
