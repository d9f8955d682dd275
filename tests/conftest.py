import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(script, *args, timeout=900, expect_ok=True, env=None):
    """Run tools/<script> in a fresh interpreter (registries and default scopes are process-global)."""
    cmd = [sys.executable, osp.join(REPO, 'tools', script), *map(str, args)]
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env)
    output = proc.stdout + proc.stderr
    if expect_ok and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{output[-6000:]}')
    return proc.returncode, output


@pytest.fixture(scope='session')
def cls_data(tmp_path_factory):
    """ImageNet-style image folder: 4 classes, 8 train + 4 val images each, 32 px."""
    from mcl_mm.datasets.synthetic import make_classification_folder
    root = tmp_path_factory.mktemp('cls')
    classes = make_classification_folder(str(root), num_classes=4, train_per_class=8, val_per_class=4,
                                         image_size=32, seed=0)
    return dict(root=str(root), classes=classes, num_train=32, num_val=16)


@pytest.fixture(scope='session')
def coco_data(tmp_path_factory):
    """COCO instances json (boxes + polygons), 4 train and 2 val images of 4 shape classes."""
    from mcl_mm.datasets.synthetic import SHAPE_CLASSES, make_coco_instances
    root = tmp_path_factory.mktemp('coco')
    classes = SHAPE_CLASSES[:4]
    make_coco_instances(str(root), 'train', num_images=4, classes=classes, seed=1)
    make_coco_instances(str(root), 'val', num_images=2, classes=classes, seed=2)
    return dict(root=str(root), classes=classes)
