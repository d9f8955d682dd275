"""Transfer pipeline: export, publish, and every downstream benchmark config on generated data."""
import glob
import hashlib
import json
import os.path as osp
import re

import pytest
import torch
import torchvision
from helpers import REPO, run_tool
from mmengine.config import Config

pytestmark = pytest.mark.slow

BENCH = osp.join(REPO, 'configs', 'mcl', 'benchmarks')
DET_CONFIGS = sorted(glob.glob(osp.join(BENCH, 'mmdetection', '*', '*.py')))
SEG_CONFIGS = sorted(p for p in glob.glob(osp.join(BENCH, 'mmsegmentation', '*', '*.py')) if '_base_' not in p)


def _member_backbone(ckpt_path, member):
    state = torch.load(ckpt_path, map_location='cpu', weights_only=False)['state_dict']
    prefix = f'members.{member}.backbone.'
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, state


# ----------------------------------------------------------------------------------------------- export
def test_extract_openmmlab_loads_strictly_into_mmdet_and_mmseg(tmp_path, cohort_checkpoint):
    out = tmp_path / 'm1.pth'
    _, log = run_tool('model_converters/extract_backbone.py', cohort_checkpoint, out, '--member', 1)
    assert 'mmdet.ResNet' in log and 'mmseg.ResNet' in log
    saved = torch.load(out, map_location='cpu', weights_only=True)  # weights-only file
    expected, full = _member_backbone(cohort_checkpoint, 1)
    assert set(saved['state_dict']) == set(expected)
    assert not any('embed' in k or 'memory' in k or 'head' in k for k in saved['state_dict'])
    from mmdet.models.backbones import ResNet as DetResNet
    from mmseg.models.backbones import ResNet as SegResNet
    for cls in (DetResNet, SegResNet):
        net = cls(depth=18)
        net.load_state_dict(saved['state_dict'], strict=True)
        for k, v in net.state_dict().items():
            assert torch.equal(v, expected[k]), k
    # member 1 differs from member 0: the right member was taken
    assert not torch.equal(saved['state_dict']['conv1.weight'], full['members.0.backbone.conv1.weight'])


def test_extract_torchvision_loads_strictly_with_the_member_classifier(tmp_path, cohort_checkpoint):
    out = tmp_path / 'tv.pth'
    run_tool('model_converters/extract_backbone.py', cohort_checkpoint, out, '--member', 0, '--format', 'torchvision')
    weights = torch.load(out, map_location='cpu', weights_only=True)
    net = torchvision.models.resnet18(weights=None, num_classes=4)
    net.load_state_dict(weights, strict=True)
    _, full = _member_backbone(cohort_checkpoint, 0)
    assert torch.equal(net.fc.weight, full['members.0.head.fc.weight'])
    assert torch.equal(net.layer4[1].bn2.running_var, full['members.0.backbone.layer4.1.bn2.running_var'])


def test_export_errors_are_clear(tmp_path, cohort_checkpoint):
    code, out = run_tool(
        'model_converters/extract_backbone.py', cohort_checkpoint, tmp_path / 'x.pth', '--member', 5, expect_ok=False)
    assert code != 0 and 'out of range' in out and 'cohort of 2 members' in out
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': torchvision.models.resnet18().state_dict()}, plain)
    code, out = run_tool('model_converters/extract_backbone.py', plain, tmp_path / 'x.pth', expect_ok=False)
    assert code != 0 and 'not an MCL cohort checkpoint' in out
    # The checkpoint's config says ResNet-34 but the weights are ResNet-18's: an architecture mismatch.
    ckpt = torch.load(cohort_checkpoint, map_location='cpu', weights_only=False)
    ckpt['meta']['cfg'] = ckpt['meta']['cfg'].replace('depth=18', 'depth=34')
    wrong = tmp_path / 'wrong_arch.pth'
    torch.save(ckpt, wrong)
    code, out = run_tool('model_converters/extract_backbone.py', wrong, tmp_path / 'x.pth', expect_ok=False)
    assert code != 0 and 'do not load strictly' in out and 'missing keys: layer1.2' in out
    assert not osp.exists(tmp_path / 'x.pth')


def test_publish_model_is_backbone_only_hash_named_with_metadata(tmp_path, cohort_checkpoint):
    stem = tmp_path / 'mcl_r18_member1'
    run_tool('model_converters/publish_model.py', cohort_checkpoint, stem, '--member', 1)
    files = glob.glob(f'{stem}_*.pth')
    assert len(files) == 1
    match = re.fullmatch(r'.*_member1_(\d{8})-([0-9a-f]{8})\.pth', files[0])
    assert match, files[0]
    data = open(files[0], 'rb').read()
    assert hashlib.sha256(data).hexdigest()[:8] == match.group(2)
    published = torch.load(files[0], map_location='cpu', weights_only=True)
    assert all(k.startswith('backbone.') for k in published['state_dict'])
    expected, _ = _member_backbone(cohort_checkpoint, 1)
    assert set(published['state_dict']) == {f'backbone.{k}' for k in expected}
    meta = published['meta']
    assert meta['algorithm'] == 'MCL' and meta['member'] == 1 and meta['epoch'] == 1
    assert "'depth': 18" in meta['arch']
    assert set(meta['val_accuracy']) >= {'member_top1', 'ensemble_top1'}
    side = json.load(open(files[0][:-4] + '.json'))
    assert side['sha256'] == hashlib.sha256(data).hexdigest()
    assert side['metafile_entry']['Weights'] == osp.basename(files[0])
    # The metafile's Config is the member's own mmpretrain config written beside the weights; the training
    # config (conftest writes it as mcl.py, not the temporary file the stored text is re-read from) is recorded.
    assert side['metafile_entry']['Config'] == osp.basename(files[0])[:-4] + '.py'
    assert osp.isfile(files[0][:-4] + '.py')
    assert side['metafile_entry']['Metadata']['Training Config'] == meta['source_config'] == 'mcl.py'
    assert side['metafile_entry']['In Collection'] == 'MCL'


# -------------------------------------------------------------------------------- benchmark configs
@pytest.fixture(scope='module')
def bench_data(tmp_path_factory):
    """The stock dataset layouts under ``data/`` exactly as the mmdet / mmseg configs expect them."""
    from shapes_world import ShapeObjects

    from mcl_mm.experiments.world import make_coco_instances, make_semantic_set, make_voc_detection
    shapes = ShapeObjects()
    root = tmp_path_factory.mktemp('bench')
    data = root / 'data'
    from mmdet.datasets import CocoDataset
    coco_names = CocoDataset.METAINFO['classes']  # all 80 declared, objects of the first 4
    for split, n, seed in (('train2017', 4, 1), ('val2017', 2, 2)):
        make_coco_instances(
            str(data / 'coco'),
            split,
            num_images=n,
            classes=coco_names,
            seed=seed,
            img_dir=split,
            num_object_classes=4,
            drawer=shapes)
    voc_splits = {'VOC2007': {'trainval': 2, 'test': 2}, 'VOC2012': {'trainval': 2}}
    make_voc_detection(str(data / 'VOCdevkit'), voc_splits, drawer=shapes)
    make_semantic_set(str(data / 'VOCdevkit' / 'VOC2012'), 'voc12', {'train': 2, 'val': 2, 'aug': 2}, drawer=shapes)
    make_semantic_set(str(data / 'VOCdevkit' / 'VOC2010'), 'pascal_context', {'train': 2, 'val': 2}, drawer=shapes)
    make_semantic_set(str(data / 'cityscapes'), 'cityscapes', {'train': 2, 'val': 2}, drawer=shapes)
    make_semantic_set(str(data / 'ade' / 'ADEChallengeData2016'), 'ade20k', {'train': 2, 'val': 2}, drawer=shapes)
    return root


def _shrink(node, det):
    """Small images and crops everywhere in a config tree (2-core CPU budget), and no score threshold."""
    if isinstance(node, dict):
        kind = node.get('type')
        if kind in ('Resize', 'RandomResize') and 'scale' in node:
            node['scale'] = (160, 128) if det else (128, 96)
        if kind == 'RandomCrop' and 'crop_size' in node:
            node['crop_size'] = (64, 64)
        if kind == 'Pad' and 'size' in node:
            node['size'] = (64, 64)
        if kind == 'SegDataPreProcessor' and node.get('size'):
            node['size'] = (64, 64)
        if 'score_thr' in node:  # a 2-iteration detector scores below 0.05: keep its boxes so COCO eval runs
            node['score_thr'] = 0.0
        for value in node.values():
            _shrink(value, det)
    elif isinstance(node, list):
        for value in node:
            _shrink(value, det)


def _test_config(path, ckpt, member, out):
    det = 'mmdetection' in path
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.backbone.init_cfg.prefix = f'members.{member}.backbone.'
    _shrink(cfg._cfg_dict, det)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].batch_size = 2 if loader == 'train_dataloader' else 1
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    if det:
        cfg.train_cfg.max_epochs = 1
    else:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
        cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.dump(str(out))
    return cfg


def _built_backbone_state(cfg):
    from mmengine.registry import init_default_scope

    from mcl_mm.engine.runtime import install_runtime_patches
    install_runtime_patches()  # the tools' checkpoint loading (weights-only with mmengine's types), in this process too
    scope = cfg.default_scope
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.backbone.state_dict()


EXPECTED_METRIC = {
    'mask-rcnn': ('coco/bbox_mAP', 'coco/segm_mAP'),
    'faster-rcnn_r18_fpn_1x_coco': ('coco/bbox_mAP', ),
    'retinanet': ('coco/bbox_mAP', ),
    'voc0712': ('pascal_voc/mAP', ),
    'mmsegmentation': ('mIoU', ),
}


@pytest.mark.parametrize('path', DET_CONFIGS + SEG_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_benchmark_config_loads_member_and_trains(path, tmp_path, bench_data, cohort_checkpoint):
    cfg = _test_config(path, cohort_checkpoint, member=1, out=tmp_path / 'cfg.py')
    # The member's weights, exactly, in the downstream backbone after init.
    expected, _ = _member_backbone(cohort_checkpoint, 1)
    state = _built_backbone_state(cfg)
    assert set(state) == set(expected)
    for k, v in state.items():
        assert torch.equal(v, expected[k]), k
    _, out = run_tool('train.py', tmp_path / 'cfg.py', '--work-dir', tmp_path / 'work', cwd=str(bench_data))
    for key, metrics in EXPECTED_METRIC.items():
        if key in path:
            for metric in metrics:
                assert metric in out, f'{metric} not reported by {osp.basename(path)}'
    assert 'Pretrained' in out or 'load checkpoint from local path' in out
    assert 'StrictPretrainedHook: all' in out and 'tensors of model.backbone come from' in out


@pytest.mark.parametrize('path', [DET_CONFIGS[0], SEG_CONFIGS[0]], ids=lambda p: osp.basename(p)[:-3])
def test_benchmark_config_refuses_weights_that_load_into_nothing(path, tmp_path, bench_data, cohort_checkpoint):
    # A ResNet-18 member handed to a ResNet-34 backbone: mmengine's Pretrained init loads what matches and only
    # warns; the benchmark config's StrictPretrainedHook stops the run before the first step, in one line.
    cfg = _test_config(path, cohort_checkpoint, member=0, out=tmp_path / 'cfg.py')
    cfg.model.backbone.depth = 34
    cfg.dump(str(tmp_path / 'cfg.py'))
    code, out = run_tool(
        'train.py', tmp_path / 'cfg.py', '--work-dir', tmp_path / 'work', cwd=str(bench_data), expect_ok=False)
    assert code != 0
    assert 'does not fit the backbone; missing keys: layer1.2.bn1.bias' in out and cohort_checkpoint in out, out[-3000:]
    assert 'Traceback' not in out and not glob.glob(str(tmp_path / 'work' / 'epoch_*.pth'))


def test_launch_script_sets_checkpoint_and_member(tmp_path, bench_data, cohort_checkpoint):
    cfg = _test_config(DET_CONFIGS[0], cohort_checkpoint, member=0, out=tmp_path / 'cfg.py')
    del cfg
    import subprocess
    script = osp.join(REPO, 'tools', 'benchmarks', 'mmdetection', 'dist_train.sh')
    # The launcher's part is the options it hands train.py; the training itself is tested above (in-process), so
    # this run initialises the detector (member 1's weights, strictly) and stops before the first epoch.
    proc = subprocess.run([
        'bash', script,
        str(tmp_path / 'cfg.py'), cohort_checkpoint, '1', '--member', '1', '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_epochs=0'
    ],
                          cwd=str(bench_data),
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    dumped = open(glob.glob(str(tmp_path / 'work' / '*.py'))[0]).read()
    assert "prefix='members.1.backbone.'" in dumped and cohort_checkpoint in dumped
    assert 'StrictPretrainedHook: all' in proc.stdout + proc.stderr  # the member's weights were loaded
