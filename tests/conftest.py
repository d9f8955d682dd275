import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(script, *args, timeout=900, expect_ok=True, env=None, cwd=REPO):
    """Run tools/<script> in a fresh interpreter (registries and default scopes are process-global)."""
    cmd = [sys.executable, osp.join(REPO, 'tools', script), *map(str, args)]
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)
    output = proc.stdout + proc.stderr
    if expect_ok and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{output[-6000:]}')
    return proc.returncode, output


@pytest.fixture(scope='session')
def cls_data(tmp_path_factory):
    """ImageNet-style image folder: 4 classes, 8 train + 4 val images each, 32 px."""
    from shapes_world import make_classification_folder
    root = tmp_path_factory.mktemp('cls')
    classes = make_classification_folder(
        str(root), num_classes=4, train_per_class=8, val_per_class=4, image_size=32, seed=0)
    return dict(root=str(root), classes=classes, num_train=32, num_val=16)


@pytest.fixture(scope='session')
def coco_data(tmp_path_factory):
    """COCO instances json (boxes + polygons), 4 train and 2 val images of 4 shape classes."""
    from demo_world import make_coco_instances
    from shapes_world import SHAPE_CLASSES, ShapeObjects
    root = tmp_path_factory.mktemp('coco')
    classes = SHAPE_CLASSES[:4]
    make_coco_instances(str(root), 'train', num_images=4, classes=classes, seed=1, drawer=ShapeObjects())
    make_coco_instances(str(root), 'val', num_images=2, classes=classes, seed=2, drawer=ShapeObjects())
    return dict(root=str(root), classes=classes)


BANK = 'memory=dict(num_samples=32, neg_k=16)'
# A small MCL config on the generated image folder; {model_extra} holds the memory settings (or memory=None).
COHORT_TEST_CONFIG = """
_base_ = '{base}'
data_root = '{root}'
model = dict(members=dict(head=dict(num_classes=4, topk=(1, ))), {model_extra})
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline,
                 _delete_=True))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline,
                 _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs={epochs}, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
"""


@pytest.fixture(scope='session')
def cohort_checkpoint(tmp_path_factory, cls_data):
    """A real MCL x2 ResNet-18 training checkpoint (1 epoch on the generated image folder)."""
    work = tmp_path_factory.mktemp('cohort')
    cfg = work / 'mcl.py'
    cfg.write_text(
        COHORT_TEST_CONFIG.format(
            base=osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py'),
            root=cls_data['root'],
            epochs=1,
            model_extra=BANK))
    run_tool('train.py', cfg, '--work-dir', work / 'run')
    return str(work / 'run' / 'epoch_1.pth')
