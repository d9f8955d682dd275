# Demo transfer: FCN R18(1/4 width)-D8 on the Pascal-VOC-2012-format digits scenes (JPEGImages + SegmentationClass
# palette PNGs + ImageSets/Segmentation), mIoU over background + the 10 digits.
_base_ = [
    '../mcl/benchmarks/mmsegmentation/voc12aug/fcn_r18-d8_4xb4-20k_voc12aug-512x512.py',
    './_base_/digits_scenes.py',
]
data_root = 'data/demo/VOCdevkit/VOC2012'
metainfo = dict(classes={{_base_.seg_classes}})
crop_size = (64, 64)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        stem_channels=16,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(checkpoint=None, prefix=None)),
    decode_head=dict(in_channels=128, channels=64, num_classes=11, norm_cfg=dict(type='BN', requires_grad=True)),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=11, norm_cfg=dict(type='BN', requires_grad=True)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale={{_base_.scene_scale}}, ratio_range=(0.75, 1.25), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.scene_scale}}, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
seg_dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.jpg',
    seg_map_suffix='.png',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(_delete_=True, ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline, **seg_dataset))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(_delete_=True, ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline, **seg_dataset))
test_dataloader = val_dataloader
# lr 0.05 (the stock recipe's 0.01 x 5) for batch 8 on this small world, reached by a 60-iteration linear warm-up;
# the same for every initialisation. Measured 2026-12-02 after 600 iterations: at 0.01 (one seed) every
# initialisation stays near background-only mIoU (~8-11); at 0.05 without warm-up (3 seeds, 120 validation scenes)
# pretrained runs end anywhere between 11 and 30 (slow-starting seeds never catch up); with the warm-up the MCL
# member reaches 27-30, the independent member 23-25 and random initialisation 10-13.
optim_wrapper = dict(optimizer=dict(lr=0.05))
max_iters = 600
warmup_iters = 60
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=warmup_iters, by_epoch=False),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=warmup_iters, end=max_iters, by_epoch=False)
]
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
# Stop at the first NaN/Inf loss term instead of evaluating a diverged model.
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='StrictPretrainedHook')]
