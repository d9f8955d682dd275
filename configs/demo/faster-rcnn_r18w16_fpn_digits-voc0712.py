# Demo transfer: Faster R-CNN R18(1/4 width)-FPN on the Pascal-VOC-format digits scenes
# (VOC2007 + VOC2012 trainval -> VOC2007 test, 11-point mAP).
_base_ = [
    '../mcl/benchmarks/mmdetection/voc0712/faster-rcnn_r18_fpn_1x_voc0712.py',
    './_base_/digits_scenes.py',
]
data_root = 'data/demo/VOCdevkit/'
metainfo = dict(classes={{_base_.digit_classes}})
width = 64
model = dict(
    # Batch-norm statistics and affine of the backbone frozen (the calibrated recipe, see the schedule below).
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix=None)),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=10)),
    # Proposal budgets sized for <= 3 small objects per 96x128 scene (2-core CPU budget).
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200), rcnn=dict(sampler=dict(num=128))),
    # Keep low-score boxes for evaluation (AP is rank-based): a short run still gets a defined AP.
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(score_thr=0.001, max_per_img=20)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.scene_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale={{_base_.scene_scale}}, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        times=1,
        dataset=dict(datasets=[
            dict(
                type='VOCDataset',
                data_root=data_root,
                metainfo=metainfo,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=4),
                pipeline=train_pipeline),
            dict(
                type='VOCDataset',
                data_root=data_root,
                metainfo=metainfo,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=4),
                pipeline=train_pipeline),
        ])))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
# The recipe calibrated on 2026-12-07 on the calibration draw of the world with independent members only
# (docs/study/transfer/README.md, "Calibration record"; every setting tried in docs/study/transfer/calibration/):
# heads at lr 0.01, the backbone at 0.0005 (x 0.05 of the heads), its batch-norm frozen, 16 epochs with the lr step
# after epoch 12. It fine-tunes above the same members frozen (92.8 against 91.9 VOC mAP there); the budget is
# not converged (62.1 / 85.4 / 92.8 at 4 / 8 / 16 epochs). The previous recipe (mmdet's lr 0.02 scaled to 4
# images, 0.005 everywhere; BN statistics frozen; 4 epochs) scored 41.7 there.
max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[12], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.01), paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.05))))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
# Stop at the first NaN/Inf loss term instead of evaluating a diverged model.
custom_hooks = [dict(type='NonFiniteLossHook'), dict(type='StrictPretrainedHook')]
