"""tools/preflight.py and --preflight on the launchers: what would fail after a cluster job has queued fails here,
in one line, before any training; a run that can start gets real iterations, peak memory and a time estimate."""
import os
import re
import subprocess

import pytest
from helpers import BANK, COHORT_TEST_CONFIG, REPO, run_tool
from mmengine.config import Config
from test_transfer import _shrink

from mcl_mm.apis.pretrained import COHORT, EXTRACTED, PUBLISHED

MCL_BASE = f'{REPO}/configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py'
VOC_BENCH = f'{REPO}/configs/mcl/benchmarks/mmdetection/voc0712/faster-rcnn_r18_fpn_1x_voc0712.py'

M_PER_CLASS = "train_dataloader['sampler'] = dict(_delete_=True, type='MPerClassSampler', batch_size=8, m=2)\n"


@pytest.fixture
def cohort_cfg(tmp_path, cls_data):
    cfg = tmp_path / 'mcl.py'
    cfg.write_text(COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=3, model_extra=BANK))
    return cfg


def _one_line_failure(code, output, tool='preflight'):
    assert code != 0, output
    last = output.strip().splitlines()[-1]
    assert last.startswith(f'{tool}: ') and 'Traceback' not in output, output[-3000:]
    return last


def test_a_cohort_run_that_can_start_gets_iterations_memory_and_an_estimate(tmp_path, cohort_cfg):
    work = tmp_path / 'work'
    _, out = run_tool('preflight.py', cohort_cfg, '--work-dir', work, '--iters', '3')
    assert f'ok  work dir {work} is writable' in out
    assert 'ok  32 training samples, 4 classes = every num_classes of the model' in out
    assert 'ok  4 iterations per epoch and GPU (batch 8 x 1 GPU(s))' in out
    memory = re.search(r'peak process memory \(RSS, whole process\) (\d+) MiB', out)
    assert memory and 200 < int(memory.group(1)) < 20000, out
    timing = re.search(r'on this hardware \(cpu\): ([\d.]+) s per iteration \(median of 2\), .* for 3 epochs', out)
    assert timing and float(timing.group(1)) > 0, out
    assert out.strip().endswith('can start on 1 GPU(s)')
    assert os.listdir(work) == []  # checked, not written: the real run finds its work dir as it was


def test_each_late_failure_is_one_line_before_any_training(tmp_path, cohort_cfg, cls_data):
    cases = [
        # the class count against the heads
        (['--cfg-options', 'model.members.head.num_classes=10'],
         'model.members.head.num_classes=10, but the training set (CustomDataset) has 4 classes'),
        # the memory bank against the training set (found by the training hooks, before the first step)
        (['--cfg-options', 'model.memory.num_samples=64'], 'num_samples=64 slots but the training set has 32'),
        # MPerClassSampler: 8 images of 4 classes per batch need 8 classes with m=1
        (['--cfg-options', 'train_dataloader.sampler.m=1'], 'needs 8 distinct classes, the dataset has 4'),
        # ... and against the number of GPUs: 32 images, batch 8, m=2 -> whole batches on 4 ranks, none on 8
        (['--gpus', '8'], 'give no full batch of 8 on 8 GPU(s)'),
        # the last batch on the planned GPUs: 32 images on 3 ranks = 11 per rank, batch 5 -> 2 batches + 1 image
        (['--gpus', '3', '--cfg-options', 'train_dataloader.batch_size=5'], 'ends in a batch of 1 image'),
        # the data on disk
        (['--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/missing'], 'missing'),
    ]
    sampled = tmp_path / 'm_per_class.py'
    sampled.write_text(cohort_cfg.read_text() + M_PER_CLASS)
    for extra, message in cases:
        cfg = sampled if ('--gpus' in extra and '8' in extra) or 'train_dataloader.sampler.m=1' in extra else cohort_cfg
        code, out = run_tool('preflight.py', cfg, '--work-dir', tmp_path / 'w', *extra, expect_ok=False)
        assert message in _one_line_failure(code, out), (extra, out[-2000:])
        assert 'Epoch(train)' not in out and 'preflight: ' in out
    # A read-only work dir.
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() != 0:  # root writes anywhere
        code, out = run_tool('preflight.py', cohort_cfg, '--work-dir', ro / 'w', expect_ok=False)
        assert 'writ' in _one_line_failure(code, out)


def test_auto_scale_lr_against_the_gpu_count_is_reported(tmp_path, cohort_cfg):
    cfg = tmp_path / 'scaled.py'
    cfg.write_text(cohort_cfg.read_text() + 'auto_scale_lr = dict(base_batch_size=16)\n')
    _, out = run_tool('preflight.py', cfg, '--work-dir', tmp_path / 'w', '--iters', '2')
    assert "warn effective batch 8 (batch 8 x GPUs) but the recipe's lr is for 16" in out
    assert 'add --auto-scale-lr to scale the lr by 0.5, or train on 2 GPUs' in out
    _, out = run_tool('preflight.py', cfg, '--work-dir', tmp_path / 'w', '--iters', '2', '--gpus', '2')
    assert 'ok  effective batch 16 = auto_scale_lr.base_batch_size' in out
    _, out = run_tool('preflight.py', cfg, '--work-dir', tmp_path / 'w', '--iters', '2', '--auto-scale-lr')
    assert 'the lr is scaled by 0.5 (auto_scale_lr enabled)' in out


@pytest.fixture(scope='module')
def voc_bench(tmp_path_factory):
    """The benchmark Faster R-CNN config on a tiny VOC 2007 + 2012 layout, small images."""
    from shapes_world import ShapeObjects

    from mcl_mm.experiments.world import make_voc_detection
    root = tmp_path_factory.mktemp('voc')
    make_voc_detection(
        str(root / 'VOCdevkit'), {
            'VOC2007': {
                'trainval': 2,
                'test': 2
            },
            'VOC2012': {
                'trainval': 2
            }
        },
        image_size=(96, 128),
        drawer=ShapeObjects())
    cfg = Config.fromfile(VOC_BENCH)
    _shrink(cfg._cfg_dict, det=True)
    cfg.train_dataloader.batch_size = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    path = root / 'faster-rcnn.py'
    cfg.dump(str(path))
    # data_root and the detector's input size as --cfg-options: what a user changes on a cluster
    options = [f'data_root={root}/VOCdevkit/', 'model.rpn_head.anchor_generator.scales=[4]']
    return path, options


@pytest.mark.parametrize('kind', [COHORT, PUBLISHED, EXTRACTED])
def test_benchmark_configs_with_every_kind_of_pretrained_file(tmp_path, voc_bench, cohort_checkpoint, kind):
    cfg, options = voc_bench
    if kind == COHORT:
        pretrained, member = cohort_checkpoint, ['--member', '0']
    elif kind == PUBLISHED:
        run_tool('model_converters/publish_model.py', cohort_checkpoint, tmp_path / 'pub', '--member', '0')
        pretrained, member = next(p for p in tmp_path.iterdir() if p.suffix == '.pth'), []
    else:
        pretrained, member = tmp_path / 'backbone.pth', []
        run_tool('model_converters/extract_backbone.py', cohort_checkpoint, pretrained, '--member', '1')
    _, out = run_tool('preflight.py', cfg, '--pretrained', pretrained, *member, '--iters', '2', '--work-dir',
                      tmp_path / 'w', '--cfg-options', *options)
    line = next(x for x in out.splitlines() if x.startswith('ok  pretrained'))
    assert kind in line and 'loads strictly into the backbone' in line, out
    assert re.search(r'ok  \d+ training samples, 20 classes = every num_classes', out), out
    assert 'can start on 1 GPU(s)' in out
    if kind != PUBLISHED:
        return
    published = pretrained
    # A cohort checkpoint without --member, and a ResNet-18 file for a 1/4-width ResNet-18: one line each.
    code, out = run_tool(
        'preflight.py', cfg, '--pretrained', cohort_checkpoint, '--work-dir', tmp_path / 'w', expect_ok=False)
    assert '--member' in _one_line_failure(code, out)
    code, out = run_tool(
        'preflight.py',
        f'{REPO}/configs/demo/faster-rcnn_r18w16_fpn_digits-voc0712.py',
        '--pretrained',
        published,
        '--work-dir',
        tmp_path / 'w',
        expect_ok=False)
    _one_line_failure(code, out)
    # The fine-tune launcher: --preflight checks the run it would start (the file resolved first) instead of training.
    proc = subprocess.run([
        'bash', f'{REPO}/tools/benchmarks/mmdetection/dist_train.sh', cfg, published, '1', '--preflight', '--iters',
        '2', '--work-dir', tmp_path / 'w', '--cfg-options', *options
    ],
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'fine-tune: backbone from {published} ({PUBLISHED}' in proc.stderr
    assert f'ok  backbone initialised from {published} (prefix backbone.)' in proc.stdout
    assert 'can start on 1 GPU(s)' in proc.stdout
    assert not (tmp_path / 'w').exists() or os.listdir(tmp_path / 'w') == []


def test_training_launchers_run_the_preflight_for_their_gpu_count(tmp_path, cohort_cfg):
    """tools/dist_train.sh CONFIG GPUS --preflight and tools/slurm_train.sh ... --preflight check for GPUS
    processes instead of starting them (no srun, no torchrun)."""
    env = dict(os.environ, GPUS='8', PATH=f'{tmp_path}:{os.environ["PATH"]}')
    (tmp_path / 'srun').write_text('#!/usr/bin/env bash\necho SRUN-CALLED; exit 3\n')
    (tmp_path / 'srun').chmod(0o755)
    for cmd in (['bash', f'{REPO}/tools/dist_train.sh', cohort_cfg, '4', '--preflight', '--work-dir', tmp_path / 'w'],
                ['bash', f'{REPO}/tools/slurm_train.sh', 'part', 'job', cohort_cfg, tmp_path / 'w', '--preflight']):
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, env=env)
        gpus = 4 if 'dist_train' in str(cmd[1]) else 8
        # 32 images, batch 8: one batch per rank on 4 GPUs; on 8 the ranks get 4 images (a batch of 4, not 1)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f'iterations per epoch and GPU (batch 8 x {gpus} GPU(s))' in proc.stdout
        assert 'SRUN-CALLED' not in proc.stdout and f'can start on {gpus} GPU(s)' in proc.stdout


def test_the_demo_and_study_configs_pass_on_their_generated_worlds(tmp_path):
    """The configs people run first: the study's L-MCL v2 arm (meta step) and the demo's MCL pretraining, on
    quick-size worlds; and the same configs on a world with another class count fail in one line."""
    from mcl_mm.experiments.common import generate_demo_world
    from mcl_mm.experiments.demo import MODES
    from mcl_mm.experiments.world import TWO_DIGIT_WORLD, make_digit_classification_folder
    study_root = tmp_path / 'study'
    make_digit_classification_folder(
        str(study_root),
        train_per_class=2,
        val_per_class=1,
        image_size=32,
        seed=0,
        digits_per_image=2,
        **TWO_DIGIT_WORLD)
    _, out = run_tool('preflight.py', f'{REPO}/configs/study/lmcl-v2_resnet20x2_1xb64-30e_two-digits.py', '--iters',
                      '2', '--work-dir', tmp_path / 'w', '--cfg-options', f'data_root={study_root}')
    assert 'ok  200 training samples, 100 classes' in out and 'for 30 epochs' in out
    generate_demo_world(str(tmp_path / 'data' / 'demo'), MODES['quick'], quick=True)
    demo_cfg = f'{REPO}/configs/demo/mcl_resnet18w16x2_1xb64-15e_two-digits.py'
    _, out = run_tool('preflight.py', demo_cfg, '--iters', '2', '--work-dir', tmp_path / 'w', cwd=tmp_path)
    assert 'ok  200 training samples, 100 classes' in out and 'can start on 1 GPU(s)' in out
    code, out = run_tool(
        'preflight.py',
        demo_cfg,
        '--work-dir',
        tmp_path / 'w',
        '--cfg-options',
        f'data_root={tmp_path}/data/demo/digits_cls',
        expect_ok=False,
        cwd=tmp_path)
    assert 'the dataset has 10' in _one_line_failure(code, out)  # its sampler is the first to see it
