"""The demo's generated world loads through mmpretrain's, mmdet's and mmseg's own dataset classes."""
import numpy as np
import pytest
from PIL import Image
from shapes_world import SHAPE_CLASSES, ShapeObjects, make_classification_folder

from mcl_mm.experiments.world import make_coco_instances, make_semantic_set, make_voc_detection, voc_palette

SHAPES = tuple(sorted(SHAPE_CLASSES))


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp('world')
    make_classification_folder(str(root / 'cls'), num_classes=8, train_per_class=5, val_per_class=2, seed=0)
    make_coco_instances(
        str(root / 'coco'), 'train', num_images=6, classes=SHAPES, seed=1, img_dir='train', drawer=ShapeObjects())
    make_voc_detection(
        str(root / 'VOCdevkit'), {'VOC2007': {
            'trainval': 4,
            'test': 3
        }},
        class_names=SHAPES,
        seed=2,
        drawer=ShapeObjects(SHAPES))
    make_semantic_set(
        str(root / 'VOCdevkit' / 'VOC2012'),
        'voc12', {
            'train': 4,
            'val': 2
        },
        num_classes=8,
        seed=3,
        drawer=ShapeObjects(SHAPES))
    return root


def test_image_folder_through_mmpretrain(world):
    from mmpretrain.datasets import CustomDataset
    ds = CustomDataset(data_root=str(world / 'cls'), data_prefix='train', pipeline=[])
    assert len(ds) == 40 and ds.CLASSES == SHAPES
    assert np.bincount(ds.get_gt_labels()).tolist() == [5] * 8


def test_coco_json_through_mmdet_with_consistent_boxes_and_masks(world):
    from mmdet.datasets import CocoDataset
    from pycocotools import mask as mask_utils
    ds = CocoDataset(
        data_root=str(world / 'coco'),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=SHAPES),
        pipeline=[],
        test_mode=True)
    assert len(ds) == 6
    total = 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        for inst in info['instances']:
            total += 1
            assert 0 <= inst['bbox_label'] < 8
            rle = mask_utils.merge(mask_utils.frPyObjects(inst['mask'], info['height'], info['width']))
            ys, xs = np.nonzero(mask_utils.decode(rle))
            x0, y0, x1, y1 = inst['bbox']
            # The box is the polygon's extent: the rasterised mask fills it to within a pixel.
            assert abs(xs.min() - x0) <= 1.5 and abs(xs.max() + 1 - x1) <= 1.5
            assert abs(ys.min() - y0) <= 1.5 and abs(ys.max() + 1 - y1) <= 1.5
    assert total >= 6


def test_voc_xml_through_mmdet(world):
    from mmdet.datasets import VOCDataset
    ds = VOCDataset(
        data_root=str(world / 'VOCdevkit'),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        metainfo=dict(classes=SHAPES),
        pipeline=[],
        test_mode=True)
    assert len(ds) == 4
    info = ds.get_data_info(0)
    assert info['instances'] and all(0 <= inst['bbox_label'] < 8 for inst in info['instances'])
    for inst in info['instances']:
        x0, y0, x1, y1 = inst['bbox']
        assert 0 <= x0 < x1 <= info['width'] and 0 <= y0 < y1 <= info['height']


def test_voc_segmentation_through_mmseg_with_palette(world):
    from mmseg.datasets import PascalVOCDataset
    ds = PascalVOCDataset(
        data_root=str(world / 'VOCdevkit' / 'VOC2012'),
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=[])
    assert len(ds) == 4
    png = Image.open(ds.get_data_info(0)['seg_map_path'])
    assert png.mode == 'P' and png.getpalette()[:3 * 9] == voc_palette()[:3 * 9]
    labels = np.asarray(png)
    assert labels.min() == 0 and labels.max() <= 8 and len(np.unique(labels)) >= 2
