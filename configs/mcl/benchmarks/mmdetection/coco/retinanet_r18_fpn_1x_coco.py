# RetinaNet R18-FPN 1x COCO (stock mmdet r18 recipe: SGD 0.01 / 16 images).
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'

# Backbone: one member of an MCL cohort. `checkpoint` is the cohort training checkpoint and `prefix` picks the
# member (members.<i>.backbone.); for a file written by tools/extract_backbone.py use prefix=None.
# tools/benchmarks/*/dist_train.sh sets both from the command line.
pretrained = 'work_dirs/mcl_resnet18x2_8xb32-100e_in1k/epoch_100.pth'
prefix = 'members.0.backbone.'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)))
# Every weight of the file must load into the backbone (mmengine's Pretrained init only warns): checked
# before the first step by mcl_mm's StrictPretrainedHook, which names the file and the keys otherwise.
custom_imports = dict(imports=['mcl_mm.engine'], allow_failed_imports=False)
custom_hooks = [dict(type='StrictPretrainedHook')]
