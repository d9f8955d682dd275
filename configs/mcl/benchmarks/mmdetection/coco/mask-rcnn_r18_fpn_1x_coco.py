# The authors' transfer setting (docs/method.md §5): Mask R-CNN R18-FPN, 1x, COCO 2017, frozen_stages=1,
# BN requires_grad with norm_eval (stock mmdet), SGD 0.02 / 16 images, warm-up 500 it, steps at 8 and 11.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

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
