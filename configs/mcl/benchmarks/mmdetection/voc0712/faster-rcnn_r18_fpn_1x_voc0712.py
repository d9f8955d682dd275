# Faster R-CNN R18-FPN on Pascal VOC: trained on VOC2007+2012 trainval (x3 repeat, 4 epochs = 12),
# evaluated on VOC2007 test (11-point mAP @ IoU 0.5, mmdet's VOCMetric).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'

# Backbone: one member of an MCL cohort. `checkpoint` is the cohort training checkpoint and `prefix` picks the
# member (members.<i>.backbone.); for a file written by tools/extract_backbone.py use prefix=None.
# tools/benchmarks/*/dist_train.sh sets both from the command line.
pretrained = 'work_dirs/mcl_resnet18x2_8xb32-100e_in1k/epoch_100.pth'
prefix = 'members.0.backbone.'
model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)),
    neck=dict(in_channels=[64, 128, 256, 512]))
# Every weight of the file must load into the backbone (mmengine's Pretrained init only warns): checked
# before the first step by mcl_mm's StrictPretrainedHook, which names the file and the keys otherwise.
custom_imports = dict(imports=['mcl_mm.engine'], allow_failed_imports=False)
custom_hooks = [dict(type='StrictPretrainedHook')]
