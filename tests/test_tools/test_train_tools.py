"""tools/train.py drives mmpretrain and mmdet configs on generated data; interrupted runs resume."""
import glob
import json
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import FOLDER_LOADERS, REPO, run_tool

pytestmark = pytest.mark.slow  # end-to-end runs of tools/train.py

CLS_CONFIG = """
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
data_root = '{root}'
model = dict(head=dict(num_classes=4, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    {aug}
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
""" + FOLDER_LOADERS + """val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={epochs}, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
"""

AUG = "dict(type='RandomResizedCrop', scale=32), dict(type='RandomFlip', prob=0.5, direction='horizontal'),"

DET_CONFIG = """
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
data_root = '{root}/'
classes = {classes}
metainfo = dict(classes=classes)
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))))
pipeline_train = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
pipeline_test = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='images/'), pipeline=pipeline_train))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='images/'), pipeline=pipeline_test))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _scalars(work_dir):
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert files, f'no scalars.json under {work_dir}'
    return [json.loads(line) for line in open(sorted(files)[-1])]


def test_train_mmpretrain_classifier(tmp_path, cls_data):
    cfg = _write(tmp_path, 'cls.py', CLS_CONFIG.format(root=cls_data['root'], epochs=1, aug=AUG))
    work_dir = tmp_path / 'work'
    run_tool('train.py', cfg, '--work-dir', work_dir)
    assert osp.isfile(work_dir / 'epoch_1.pth')
    records = _scalars(str(work_dir))
    assert any('loss' in r for r in records) and any('accuracy/top1' in r for r in records)
    # tools/test.py evaluates the checkpoint and dumps predictions.
    _, out = run_tool('test.py', cfg, work_dir / 'epoch_1.pth', '--work-dir', tmp_path / 'test', '--out',
                      tmp_path / 'preds.pkl')
    assert 'accuracy/top1' in out and osp.isfile(tmp_path / 'preds.pkl')


def test_train_mmdet_detector_with_coco_evaluation(tmp_path, coco_data):
    cfg = _write(tmp_path, 'det.py', DET_CONFIG.format(root=coco_data['root'], classes=tuple(coco_data['classes'])))
    work_dir = tmp_path / 'work'
    _, out = run_tool('train.py', cfg, '--work-dir', work_dir)
    assert osp.isfile(work_dir / 'epoch_1.pth')
    assert 'coco/bbox_mAP' in out  # the real pycocotools evaluation ran


def _train_until_first_checkpoint_then_kill(cfg, work_dir, timeout=600):
    """Start tools/train.py and SIGKILL it as soon as its first checkpoint is complete (``last_checkpoint``
    is written after the checkpoint file), i.e. while it is training the next epoch."""
    proc = subprocess.Popen(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), cfg, '--work-dir',
         str(work_dir)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not osp.exists(work_dir / 'last_checkpoint'):
        assert proc.poll() is None, 'training exited before writing a checkpoint'
        assert time.time() < deadline, 'no checkpoint in time'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not osp.exists(work_dir / 'epoch_2.pth'), 'the run finished before it could be interrupted'


def test_killed_training_resumes_exactly(tmp_path, cls_data):
    """2 epochs straight vs killed during epoch 2 + restarted with --resume: same counters, weights,
    optimizer and scheduler state (a restart that lost its momentum buffers would end elsewhere), with the
    random augmentations of the shipped pipelines (EpochSeedHook: the draws of epoch 2 do not depend on what
    epoch 1 and its validation drew)."""
    straight, killed = tmp_path / 'straight', tmp_path / 'killed'
    cfg = _write(tmp_path, 'cls.py', CLS_CONFIG.format(root=cls_data['root'], epochs=2, aug=AUG))
    run_tool('train.py', cfg, '--work-dir', straight)
    _train_until_first_checkpoint_then_kill(cfg, killed)
    _, out = run_tool('train.py', cfg, '--work-dir', killed, '--resume')
    assert 'resumed epoch: 1, iter: 4' in out  # 32 images / batch 8 per epoch

    a = torch.load(straight / 'epoch_2.pth', map_location='cpu', weights_only=False)
    b = torch.load(killed / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 8
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key  # bit-exact on CPU
    for k, state in a['optimizer']['state'].items():
        assert torch.equal(state['momentum_buffer'], b['optimizer']['state'][k]['momentum_buffer'])
    assert a['param_schedulers'] == b['param_schedulers']
