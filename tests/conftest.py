"""Session fixtures: generated data sets and a trained cohort checkpoint (shared helpers: tests/helpers.py)."""
import os.path as osp

import pytest
from helpers import BANK, COHORT_TEST_CONFIG, REPO, run_tool  # noqa: F401  (the fixtures below use them)


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
    from shapes_world import SHAPE_CLASSES, ShapeObjects

    from mcl_mm.experiments.world import make_coco_instances
    root = tmp_path_factory.mktemp('coco')
    classes = SHAPE_CLASSES[:4]
    make_coco_instances(str(root), 'train', num_images=4, classes=classes, seed=1, drawer=ShapeObjects())
    make_coco_instances(str(root), 'val', num_images=2, classes=classes, seed=2, drawer=ShapeObjects())
    return dict(root=str(root), classes=classes)


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
