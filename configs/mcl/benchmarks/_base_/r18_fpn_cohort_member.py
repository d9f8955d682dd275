# ResNet-18 + FPN for mmdet initialised from one MCL cohort member (shared by the configs in ../mmdetection/;
# kept outside that folder, whose */*.py files are all leaf configs). `pretrained` is the cohort training
# checkpoint and `prefix` picks the member (members.<i>.backbone.); for a file written by
# tools/model_converters/extract_backbone.py use prefix=None. tools/benchmarks/mmdetection/dist_train.sh sets both
# from the command line. The leaves merge `cohort_r18_fpn` into their mmdet recipe's model.
pretrained = 'work_dirs/mcl_resnet18x2_8xb32-100e_in1k/epoch_100.pth'
prefix = 'members.0.backbone.'
cohort_r18_fpn = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)),
    neck=dict(in_channels=[64, 128, 256, 512]))
# Every weight of the file must load into the backbone (mmengine's Pretrained init only warns): checked
# before the first step by mcl_mm's StrictPretrainedHook, which names the file and the keys otherwise.
custom_imports = dict(imports=['mcl_mm.engine'], allow_failed_imports=False)
custom_hooks = [dict(type='StrictPretrainedHook')]
