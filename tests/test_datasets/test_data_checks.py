"""mcl_mm.datasets.checks on real files (image folders, COCO json, VOC XML, PNG masks, a real Runner): good data
passes, bad data stops with one DataError line naming the problem and the fix. Each ``*_upstream_*`` test shows
what the real mmpretrain / mmdet / mmseg dataset does with the same bad data today (a silent wrong label, a
dropped annotation, pixels that count nowhere), which is why the check exists."""
import json
import os
import os.path as osp
import re
import shutil
import uuid

import numpy as np
import pytest
import torch
from helpers import REPO
from mmengine.config import Config
from PIL import Image
from shapes_world import SHAPE_CLASSES, ShapeObjects, make_classification_folder

from mcl_mm.datasets.checks import (check_config_data, check_last_batch, check_runner_data, check_seg_masks,
                                    seg_map_paths)
from mcl_mm.experiments.world import make_coco_instances, make_semantic_set, make_voc_detection, voc_palette
from mcl_mm.utils.errors import DataError

CLASSES = SHAPE_CLASSES[:3]  # triangle, square, pentagon
SEG_CLASSES = ('background', ) + CLASSES


def raises_data_error(fn, *args, **kwargs) -> str:
    """Run ``fn``; it must raise DataError with a one-line message that names the fix; returns the message."""
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert '\n' not in message and 'Fix: ' in message, message
    return message


# --------------------------------------------------------------------------------- classification folders


def cls_world(tmp_path, per_class=2):
    root = str(tmp_path / 'cls')
    classes = make_classification_folder(root, num_classes=3, train_per_class=per_class, val_per_class=1, image_size=32)
    return root, classes  # classes sorted: pentagon, square, triangle


def cls_cfg(root, train_type='CustomDataset', val_type='CustomDataset', **val_extra):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    train = dict(type=train_type, data_root=root, data_prefix='train', pipeline=pipeline)
    val = dict(type=val_type, data_root=root, data_prefix=dict(img_path='val'), pipeline=pipeline, **val_extra)
    return Config(
        dict(
            default_scope='mcl_mm',
            # wrapped as users wrap them: the checks walk through ConcatDataset / RepeatDataset
            train_dataloader=dict(
                batch_size=2,
                dataset=dict(type='ConcatDataset', datasets=[dict(type='RepeatDataset', times=2, dataset=train)])),
            val_dataloader=dict(batch_size=2, dataset=val),
            test_dataloader=None))


def build_cls(root, split):
    from mmpretrain.datasets import CustomDataset
    return CustomDataset(data_root=root, data_prefix=split, pipeline=[])


def test_class_folders_same_in_every_split_pass(tmp_path):
    from mmpretrain.datasets import CustomDataset
    root, _ = cls_world(tmp_path)
    check_config_data(cls_cfg(root))
    check_config_data(cls_cfg(root, train_type='mmpretrain.CustomDataset', val_type=CustomDataset))
    # A directory symlink that is no loop (a class folder shared from elsewhere) is fine.
    os.symlink(osp.join(root, 'val', 'square'), osp.join(root, 'train', 'square', 'shared'))
    check_config_data(cls_cfg(root))


def test_unknown_or_unchecked_dataset_types_are_skipped(tmp_path):
    missing = str(tmp_path / 'nowhere')
    cfg = Config(
        dict(
            default_scope='mcl_mm',
            train_dataloader=dict(dataset=dict(type='NoSuchDataset', data_root=missing)),
            val_dataloader=dict(dataset=dict(type='CIFAR10', data_root=missing)),  # not a folder dataset
            test_dataloader=dict(dataset=dict(type='CustomDataset', data_root=missing, ann_file='list.txt'))))
    check_config_data(cfg)


def test_val_lacking_a_class_folder_fails(tmp_path):
    root, _ = cls_world(tmp_path)
    shutil.rmtree(osp.join(root, 'val', 'square'))
    message = raises_data_error(check_config_data, cls_cfg(root))
    assert "lacks 1 class folder of train's ('square')" in message
    assert osp.join(root, 'val') in message and osp.join(root, 'train') in message and '2 vs 3 classes' in message
    # ImageNet(split=...) finds its folder from the split; the same check applies.
    imagenet = cls_cfg(root, train_type='ImageNet', val_type='ImageNet', split='val')
    imagenet.train_dataloader.dataset.datasets[0].dataset.update(split='train', data_prefix='')
    imagenet.val_dataloader.dataset.data_prefix = ''
    assert "lacks 1 class folder of train's ('square')" in raises_data_error(check_config_data, imagenet)


def test_upstream_val_lacking_a_class_folder_shifts_labels(tmp_path):
    root, _ = cls_world(tmp_path)
    shutil.rmtree(osp.join(root, 'val', 'square'))
    train, val = build_cls(root, 'train'), build_cls(root, 'val')
    label = {
        split: {
            osp.basename(osp.dirname(d['img_path'])): d['gt_label']
            for d in (ds.get_data_info(i) for i in range(len(ds)))
        }
        for split, ds in (('train', train), ('val', val))
    }
    # mmpretrain builds val without complaint, and every val triangle now carries train's 'square' label.
    assert label['train'] == {'pentagon': 0, 'square': 1, 'triangle': 2}
    assert label['val'] == {'pentagon': 0, 'triangle': 1}


def test_stray_hidden_folder_in_val_fails(tmp_path):
    root, _ = cls_world(tmp_path)
    os.makedirs(osp.join(root, 'val', '.ipynb_checkpoints'))
    message = raises_data_error(check_config_data, cls_cfg(root))
    assert "has 1 class folder that train lacks ('.ipynb_checkpoints')" in message
    # mmpretrain counts the hidden folder as class 0: every real val class moves up by one.
    assert build_cls(root, 'val').metainfo['classes'][0] == '.ipynb_checkpoints'


def test_symlink_loop_fails(tmp_path):
    root, _ = cls_world(tmp_path, per_class=1)
    link = osp.join(root, 'train', 'square', 'loop')
    os.symlink('..', link)
    message = raises_data_error(check_config_data, cls_cfg(root))
    assert 'symlink loop' in message and f'{link} -> ..' in message
    # mmpretrain walks into the loop until the OS refuses, then fails with a 40-level path.
    with pytest.raises(OSError, match='Too many levels of symbolic links'):
        build_cls(root, 'train')


# ---------------------------------------------------------------------------------------------------- COCO


@pytest.fixture
def coco_root(tmp_path):
    root = str(tmp_path / 'coco')
    for split, n, seed in (('train', 3, 1), ('val', 2, 2)):
        make_coco_instances(
            root, split, num_images=n, image_size=(32, 32), classes=CLASSES, seed=seed, drawer=ShapeObjects())
    return root


def coco_cfg(root, classes=CLASSES, default_scope='mcl_mm', dataset_type='mmdet.CocoDataset'):

    def dataset(split):
        return dict(
            type=dataset_type,
            data_root=root,
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img='images/'),
            metainfo=dict(classes=classes),
            pipeline=[])

    return Config(
        dict(
            default_scope=default_scope,
            train_dataloader=dict(dataset=dataset('train')),
            val_dataloader=dict(dataset=dataset('val')),
            test_dataloader=dict(dataset=dataset('val'))))


def edit_json(path, edit):
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def build_coco(root, split='train', classes=CLASSES):
    from mmdet.datasets import CocoDataset
    return CocoDataset(
        data_root=root,
        ann_file=f'annotations/instances_{split}.json',
        data_prefix=dict(img='images/'),
        metainfo=dict(classes=classes),
        test_mode=True,
        pipeline=[])


def num_instances(dataset) -> int:
    return sum(len(dataset.get_data_info(i)['instances']) for i in range(len(dataset)))


def add_off_class_annotations(data):
    """One annotation of a declared category that is not a class, one of an undeclared category id."""
    data['categories'].append(dict(id=50, name='hexagon', supercategory='shape'))
    for new_id, cat in ((1000, 50), (1001, 99)):
        data['annotations'].append(dict(data['annotations'][0], id=new_id, category_id=cat))


def test_coco_good_annotations_pass(coco_root):
    check_config_data(coco_cfg(coco_root))
    check_config_data(coco_cfg(coco_root, default_scope='mmdet', dataset_type='CocoDataset'))


def test_coco_annotation_of_an_undeclared_category_fails_and_a_left_out_one_is_said(coco_root):
    edit_json(osp.join(coco_root, 'annotations', 'instances_train.json'), add_off_class_annotations)
    message = raises_data_error(check_config_data, coco_cfg(coco_root))
    assert 'instances_train.json: 1 of ' in message and 'categories list does not declare (id 99 x1)' in message
    edit_json(
        osp.join(coco_root, 'annotations', 'instances_train.json'),
        lambda d: d.update(annotations=[a for a in d['annotations'] if a['category_id'] != 99]))
    # A declared category outside `classes` is mmdet's way to train on a subset: a warning, not an error.
    with pytest.warns(
            UserWarning, match="1 of .* annotations belong to categories outside the dataset classes "
            r"\('hexagon' x1\)"):
        check_config_data(coco_cfg(coco_root))


def test_upstream_coco_drops_annotations_outside_classes(coco_root):
    ann_file = osp.join(coco_root, 'annotations', 'instances_train.json')
    good = num_instances(build_coco(coco_root))
    data = edit_json(ann_file, add_off_class_annotations)
    bad = build_coco(coco_root)
    # mmdet loads the file without a word; the two extra annotations are simply not there.
    assert num_instances(bad) == good
    assert len(data['annotations']) == good + 2


def test_coco_malformed_or_incomplete_files_fail(coco_root):
    train = osp.join(coco_root, 'annotations', 'instances_train.json')
    val = osp.join(coco_root, 'annotations', 'instances_val.json')
    text = open(train).read()
    with open(train, 'w') as f:
        f.write(text[:len(text) // 2])
    message = raises_data_error(check_config_data, coco_cfg(coco_root))
    assert f'COCO annotation file {train} is not valid JSON' in message
    with open(train, 'w') as f:
        f.write(text)

    edit_json(train, lambda d: d.pop('categories'))
    assert 'has no categories list' in raises_data_error(check_config_data, coco_cfg(coco_root))
    with open(train, 'w') as f:
        f.write(text)

    # An evaluation split may come without annotations (COCO test-dev image-info files); training may not.
    edit_json(val, lambda d: d.pop('annotations'))
    check_config_data(coco_cfg(coco_root))
    edit_json(train, lambda d: d.update(annotations=[]))
    assert 'of the training split has an empty annotations list' in raises_data_error(
        check_config_data, coco_cfg(coco_root))
    check_config_data(coco_cfg(coco_root), splits=('val', 'test'))


def test_coco_annotation_of_unknown_image_fails(coco_root):
    edit_json(
        osp.join(coco_root, 'annotations', 'instances_val.json'),
        lambda d: d['annotations'].append(dict(d['annotations'][0], id=999, image_id=777)))
    message = raises_data_error(check_config_data, coco_cfg(coco_root))
    assert '1 annotations refer to 1 image ids missing from images (777)' in message


def test_coco_classes_in_another_order_fail(coco_root):
    reordered = CLASSES[::-1]
    message = raises_data_error(check_config_data, coco_cfg(coco_root, classes=reordered))
    assert "lists the classes as 'triangle', 'square', 'pentagon'" in message and 'json category order' in message
    # mmdet numbers labels in the json's order, while metainfo names label 0 'pentagon': names and labels disagree.
    dataset = build_coco(coco_root, classes=reordered)
    triangle_id = 1
    assert dataset.cat2label[triangle_id] == 0 and dataset.metainfo['classes'][0] == 'pentagon'
    message = raises_data_error(check_config_data, coco_cfg(coco_root, classes=CLASSES + ('hexagon', )))
    assert "has no category named 'hexagon'" in message


# ------------------------------------------------------------------------------------------------ VOC / XML


@pytest.fixture
def voc_root(tmp_path):
    root = str(tmp_path / 'VOCdevkit')
    make_voc_detection(
        root, {'VOC2007': {
            'trainval': 3,
            'test': 2
        }}, image_size=(32, 32), class_names=CLASSES, drawer=ShapeObjects())
    return root


def voc_cfg(root):

    def dataset(split):
        return dict(
            type='VOCDataset',
            data_root=root,
            ann_file=f'VOC2007/ImageSets/Main/{split}.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            metainfo=dict(classes=CLASSES),
            pipeline=[])

    # As the demo's Faster R-CNN config: RepeatDataset(ConcatDataset([VOCDataset, ...])).
    train = dict(type='RepeatDataset', times=1, dataset=dict(type='ConcatDataset', datasets=[dataset('trainval')]))
    return Config(
        dict(default_scope='mmdet', train_dataloader=dict(dataset=train), val_dataloader=dict(dataset=dataset('test'))))


def voc_xml(root, index=0, split='trainval'):
    return osp.join(root, 'VOC2007', 'Annotations', f'2007_{split}_{index:05d}.xml')


def rename_first_object(path, name):
    text = open(path).read()
    with open(path, 'w') as f:
        f.write(re.sub(r'<name>[^<]*</name>', f'<name>{name}</name>', text, count=1))


def build_voc(root):
    from mmdet.datasets import VOCDataset
    return VOCDataset(
        data_root=root,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        metainfo=dict(classes=CLASSES),
        test_mode=True,
        pipeline=[])


def test_voc_good_annotations_pass(voc_root):
    check_config_data(voc_cfg(voc_root))


def test_voc_object_outside_classes_fails(voc_root):
    rename_first_object(voc_xml(voc_root, 1), 'triangle ')  # a trailing space is enough
    message = raises_data_error(check_config_data, voc_cfg(voc_root))
    assert f"{voc_xml(voc_root, 1)}: object name 'triangle ' is not one of the dataset classes" in message
    assert '1 such objects in 1 of 3 files' in message


def test_upstream_voc_drops_objects_outside_classes(voc_root):
    good = num_instances(build_voc(voc_root))
    rename_first_object(voc_xml(voc_root, 1), 'hexagon')
    assert num_instances(build_voc(voc_root)) == good - 1  # gone, silently


def test_voc_malformed_or_missing_xml_fails(voc_root):
    path = voc_xml(voc_root, 0, 'test')
    text = open(path).read()
    with open(path, 'w') as f:
        f.write(text[:len(text) - 20])
    message = raises_data_error(check_config_data, voc_cfg(voc_root))
    assert f'{path} is not well-formed XML' in message
    os.remove(path)
    assert f'{path} (image id ' in raises_data_error(check_config_data, voc_cfg(voc_root))


# ---------------------------------------------------------------------------------------------------- mmseg


@pytest.fixture
def seg_root(tmp_path):
    root = str(tmp_path / 'VOC2012')
    make_semantic_set(root, 'voc12', {'train': 2, 'val': 1}, image_size=(32, 32), num_classes=3, drawer=ShapeObjects())
    return root


def seg_cfg(root):
    # The demo's FCN dataset dicts: BaseSegDataset in the mmseg scope, split lists, palette PNG masks.
    common = dict(
        type='BaseSegDataset',
        data_root=root,
        metainfo=dict(classes=SEG_CLASSES),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=[])
    return Config(
        dict(
            default_scope='mmseg',
            train_dataloader=dict(dataset=dict(ann_file='ImageSets/Segmentation/train.txt', **common)),
            val_dataloader=dict(dataset=dict(ann_file='ImageSets/Segmentation/val.txt', **common))))


def write_palette_mask(path, labels):
    png = Image.fromarray(labels.astype(np.uint8), mode='P')
    png.putpalette(voc_palette())
    png.save(path)


def test_seg_good_masks_pass(seg_root):
    # VOC's 255 boundary pixels are ignore_index: fine.
    mask = osp.join(seg_root, 'SegmentationClass', 'val_00000.png')
    labels = np.array(Image.open(mask))
    labels[0, :] = 255
    write_palette_mask(mask, labels)
    check_config_data(seg_cfg(seg_root))


def test_seg_value_above_class_count_fails(seg_root):
    mask = osp.join(seg_root, 'SegmentationClass', 'val_00000.png')
    labels = np.array(Image.open(mask))
    labels[:4, :4] = 7  # 4 classes: 0..3
    write_palette_mask(mask, labels)
    message = raises_data_error(check_config_data, seg_cfg(seg_root))
    assert f'segmentation mask {mask} holds label values 7, neither a class (0..3: 4 classes)' in message
    assert 'ignore_index 255' in message


def test_upstream_seg_value_above_class_count_counts_nowhere(seg_root):
    from mmseg.datasets import BaseSegDataset
    from mmseg.datasets.transforms import LoadAnnotations
    from mmseg.evaluation import IoUMetric
    mask = osp.join(seg_root, 'SegmentationClass', 'val_00000.png')
    labels = np.array(Image.open(mask))
    labels[:4, :4] = 7
    write_palette_mask(mask, labels)
    dataset = BaseSegDataset(
        data_root=seg_root,
        ann_file='ImageSets/Segmentation/val.txt',
        metainfo=dict(classes=SEG_CLASSES),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
    gt = LoadAnnotations()(dataset.get_data_info(0))['gt_seg_map']
    assert (gt == 7).sum() == 16  # loaded as is, no warning
    gt = torch.from_numpy(gt.astype(np.int64))
    *_, area_label = IoUMetric.intersect_and_union(gt.clone(), gt, len(SEG_CLASSES), 255)
    assert area_label.sum() == gt.numel() - 16  # a perfect prediction, yet those 16 pixels count in no class


def test_seg_reduce_zero_label_and_folder_listing(tmp_path):
    # ADE20K layout, no split list (masks found by walking images/), ADE20KDataset's own defaults:
    # reduce_zero_label=True (0 -> ignored, k -> k - 1) and its 150 classes.
    root = str(tmp_path / 'ade')
    make_semantic_set(root, 'ade20k', {'train': 2}, image_size=(32, 32), num_classes=3, drawer=ShapeObjects())
    cfg = Config(
        dict(
            default_scope='mmseg',
            train_dataloader=dict(
                dataset=dict(
                    type='ADE20KDataset',
                    data_root=root,
                    pipeline=[],
                    data_prefix=dict(img_path='images/training', seg_map_path='annotations/training')))))
    check_config_data(cfg)
    paths = seg_map_paths(osp.join(root, 'images/training'), osp.join(root, 'annotations/training'))
    assert [osp.basename(p) for p in paths] == ['train_00000.png', 'train_00001.png']
    labels = np.array(Image.open(paths[1]))
    labels[0, 0], labels[0, 1] = 0, 152  # 0 is ignored after the rule; 152 becomes 151 >= 150
    Image.fromarray(labels).save(paths[1])
    message = raises_data_error(check_config_data, cfg)
    assert f'{paths[1]} holds label values 151 (stored values 152)' in message and 'after reduce_zero_label' in message
    # The same values as plain labels of a 4-class set without the rule: 152 is out of range.
    assert 'label values 152' in raises_data_error(check_seg_masks, paths[1:], 4)


def test_seg_missing_or_colour_mask_fails(seg_root):
    mask = osp.join(seg_root, 'SegmentationClass', 'train_00001.png')
    Image.open(mask).convert('RGB').save(mask)
    assert 'has 3 channels' in raises_data_error(check_config_data, seg_cfg(seg_root))
    os.remove(mask)
    assert f'segmentation mask {mask} does not exist' in raises_data_error(check_config_data, seg_cfg(seg_root))


def test_demo_configs_pass_on_demo_data(tmp_path, monkeypatch):
    """Every configs/demo config passes on the demo's own generated world (tools/demo.py, tiny sizes)."""
    from mcl_mm.experiments.common import generate_demo_world
    generate_demo_world(
        str(tmp_path / 'data' / 'demo'),
        dict(two_digits=(1, 1), digits_cls=(2, 1), coco=(2, 1), voc=(2, 1, 2), seg=(2, 1)),
        quick=True)
    configs = sorted(f for f in os.listdir(osp.join(REPO, 'configs', 'demo')) if f.endswith('.py'))
    assert len(configs) > 10
    monkeypatch.chdir(tmp_path)  # the demo configs' data_root is relative: data/demo/...
    for name in configs:
        check_config_data(Config.fromfile(osp.join(REPO, 'configs', 'demo', name)))


# ------------------------------------------------------------------------------------------------ last batch


@pytest.mark.parametrize(
    'dataset_len, batch_size, world_size, drop_last, has_bn, fails',
    [
        (41, 8, 1, False, True, True),  # 5 x 8 + 1
        (41, 8, 1, True, True, False),  # dropped
        (41, 8, 1, False, False, False),  # no BatchNorm
        (40, 8, 1, False, True, False),
        (42, 8, 1, False, True, False),  # a batch of 2 is fine
        (81, 8, 2, False, True, True),  # 41 per rank (DefaultSampler pads to 82)
        (1, 8, 1, False, True, True),  # the only batch holds 1 image (the fix: more images)
        (7, 1, 1, False, True, False),  # batch_size 1 fails at once if at all: nothing wasted
    ])
def test_check_last_batch(dataset_len, batch_size, world_size, drop_last, has_bn, fails):
    if not fails:
        check_last_batch(dataset_len, batch_size, world_size, drop_last, has_bn)
        return
    message = raises_data_error(check_last_batch, dataset_len, batch_size, world_size, drop_last, has_bn)
    assert f'{dataset_len} images on {world_size} rank(s)' in message and f'batch_size {batch_size}' in message
    assert ('train_dataloader.drop_last=True' if dataset_len > 1 else 'train on more images') in message


def test_upstream_batch_norm_fails_on_one_image():
    for bn, x in ((torch.nn.BatchNorm1d(4), torch.randn(1, 4)), (torch.nn.BatchNorm2d(4), torch.randn(1, 4, 1, 1))):
        with pytest.raises(ValueError, match='Expected more than 1 value per channel'):
            bn.train()(x)
        bn.eval()(x)  # eval mode uses running statistics: fine


class _BNNet(torch.nn.Module):
    """Conv + BN + global pool + BN1d: the shape that dies on a 1-image batch; ``norm_eval`` keeps BN frozen."""

    def __init__(self, norm_eval=False):
        super().__init__()
        self.conv, self.bn, self.bn1d = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.BatchNorm1d(4)
        self.norm_eval = norm_eval

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


def make_runner(tmp_path, root, model, train_cfg=None, **loader):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):

        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, inputs=None, data_samples=None, mode='loss'):
            return dict(loss=sum(p.sum() for p in self.parameters()))

    dataloader = dict(
        batch_size=8,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CustomDataset', data_root=root, data_prefix='train', pipeline=[]))
    dataloader.update(loader)
    return Runner(
        model=Model(),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dataloader,
        train_cfg=train_cfg or dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_scope='mcl_mm',
        experiment_name=f'checks_{uuid.uuid4().hex}')


def test_check_runner_data(tmp_path):
    root = str(tmp_path / 'cls')
    make_classification_folder(root, num_classes=3, train_per_class=3, val_per_class=0, image_size=32)  # 9 images
    runner = make_runner(tmp_path, root, _BNNet())
    message = raises_data_error(check_runner_data, runner)
    assert '9 images on 1 rank(s) = 9 per rank, batch_size 8 -> 1 full batches + 1 image' in message
    assert all(m.training for m in runner.model.modules())  # the check leaves the model's modes as they were
    check_runner_data(make_runner(tmp_path, root, _BNNet(), drop_last=True))
    check_runner_data(make_runner(tmp_path, root, _BNNet(norm_eval=True)))  # no BatchNorm trains
    # MPerClassSampler composes whole batches only (9 images -> 2 batches of 4): nothing to check.
    check_runner_data(
        make_runner(tmp_path, root, _BNNet(), batch_size=4, sampler=dict(type='MPerClassSampler', batch_size=4, m=2)))
    # An iteration-based loop's InfiniteSampler has no last batch.
    check_runner_data(
        make_runner(tmp_path, root, _BNNet(), dict(by_epoch=False, max_iters=2), sampler=dict(type='InfiniteSampler')))


@pytest.mark.slow
def test_the_tools_check_the_data_before_any_step(tmp_path, cls_data):
    """tools/train.py and tools/test.py run these checks: one line, before the first iteration."""
    from helpers import BANK, COHORT_TEST_CONFIG, run_tool
    root = tmp_path / 'data'
    shutil.copytree(cls_data['root'], root)
    cfg = tmp_path / 'mcl.py'
    cfg.write_text(
        COHORT_TEST_CONFIG.format(
            base=osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py'), root=root, epochs=1,
            model_extra=BANK))
    # 32 training images in batches of 31: the last batch holds 1 image, which BatchNorm cannot train on.
    code, out = run_tool(
        'train.py',
        cfg,
        '--work-dir',
        tmp_path / 'w1',
        '--cfg-options',
        'train_dataloader.batch_size=31',
        expect_ok=False)
    assert code != 0 and 'Traceback' not in out and 'drop_last=True' in out, out[-2000:]
    assert 'Epoch(train)' not in out
    shutil.rmtree(root / 'val' / sorted(os.listdir(root / 'val'))[0])  # val lacks a class of train
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'w2', expect_ok=False)
    assert code != 0 and 'Traceback' not in out and 'lacks 1 class folder' in out, out[-2000:]
    assert not (tmp_path / 'w2' / 'epoch_1.pth').exists()


# ------------------------------------------------------------------------ data that trains into a wrong answer


def test_a_training_class_without_images_or_an_empty_train_folder_fails(tmp_path):
    root, classes = cls_world(tmp_path)
    for image in os.listdir(osp.join(root, 'train', classes[1])):
        os.remove(osp.join(root, 'train', classes[1], image))
    message = raises_data_error(check_config_data, cls_cfg(root))
    assert '1 class folder of 3 hold no image' in message and classes[1] in message
    shutil.rmtree(osp.join(root, 'train'))
    os.makedirs(osp.join(root, 'train'))
    assert 'has no class folders' in raises_data_error(check_config_data, cls_cfg(root))


def test_validation_images_that_are_training_images_are_said(tmp_path):
    import warnings
    root, classes = cls_world(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        check_config_data(cls_cfg(root))
    assert not [w for w in caught if 'also training images' in str(w.message)]
    val_image = osp.join(root, 'val', classes[0], os.listdir(osp.join(root, 'val', classes[0]))[0])
    shutil.copy(val_image, osp.join(root, 'train', classes[0], 'copied.png'))
    with pytest.warns(UserWarning, match=r'1 image\(s\) of the val folder .* are also training images'):
        check_config_data(cls_cfg(root))


def test_coco_boxes_mmdet_would_drop_all_of_them_fail(coco_root):
    ann = osp.join(coco_root, 'annotations', 'instances_train.json')

    def corner_format(data):  # [x1, y1, x2, y2] written where COCO wants [x, y, w, h], then normalised
        for a in data['annotations']:
            a['bbox'] = [a['bbox'][0] / 32, a['bbox'][1] / 32, 0.5, 0.5]

    edit_json(ann, corner_format)
    assert len(build_coco(coco_root).filter_data()) == 0 or num_instances(build_coco(coco_root)) == 0  # upstream
    message = raises_data_error(check_config_data, coco_cfg(coco_root))
    assert 'all' in message and 'have a box mmdet drops' in message and 'width' in message


def test_segmentation_masks_of_another_size_fail(seg_root):
    mask = osp.join(seg_root, 'SegmentationClass', 'train_00001.png')
    labels = np.array(Image.open(mask))
    write_palette_mask(mask, labels[:, :16])
    message = raises_data_error(check_config_data, seg_cfg(seg_root))
    assert f'segmentation mask {mask} is 16x32' in message and 'its image' in message and '32x32' in message


def test_voc_with_every_object_difficult_fails(voc_root):
    for index in range(3):
        path = voc_xml(voc_root, index)
        text = open(path).read()
        text = re.sub(r'<difficult>\d</difficult>', '<difficult>1</difficult>', text)
        if '<difficult>' not in text:
            text = text.replace('</name>', '</name><difficult>1</difficult>')
        open(path, 'w').write(text)
    message = raises_data_error(check_config_data, voc_cfg(voc_root))
    assert 'is marked <difficult>1</difficult>' in message and 'mAP would be 0' in message


def test_an_image_declaring_gigapixels_is_refused_before_decoding(tmp_path):
    import struct
    import zlib

    from mmengine.registry import init_default_scope

    from mcl_mm.registry import TRANSFORMS
    init_default_scope('mcl_mm')

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    bomb = tmp_path / 'bomb.png'  # a 60000 x 60000 RGB header (10 GiB decoded) and almost no data
    bomb.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 60000, 60000, 8, 2, 0, 0, 0)) +
                     chunk(b'IDAT', zlib.compress(b'\x00' * 16)) + chunk(b'IEND', b''))
    loader = TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))
    with pytest.raises(DataError, match=r'cannot load image .*bomb.png: it declares .*max_pixels'):
        loader(dict(img_path=str(bomb)))
    small = TRANSFORMS.build(dict(type='LoadImageFromFileChecked', max_pixels=100))
    normal = tmp_path / 'normal.png'
    Image.new('RGB', (32, 32)).save(normal)
    with pytest.raises(DataError, match='32x32 = 1,024 pixels, over max_pixels=100'):
        small(dict(img_path=str(normal)))
    assert TRANSFORMS.build(dict(type='LoadImageFromFileChecked'))(dict(img_path=str(normal)))['img'].shape == (32, 32,
                                                                                                                3)
