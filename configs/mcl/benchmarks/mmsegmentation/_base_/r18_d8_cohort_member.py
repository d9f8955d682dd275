# ResNet-18-D8 for mmseg initialised from one MCL cohort member (shared by the configs beside this folder).
# `pretrained` is the cohort training checkpoint and `prefix` picks the member (members.<i>.backbone.);
# for a file written by tools/model_converters/extract_backbone.py use prefix=None.
# tools/benchmarks/mmsegmentation/dist_train.sh sets both from the command line.
pretrained = 'work_dirs/mcl_resnet18x2_8xb32-100e_in1k/epoch_100.pth'
prefix = 'members.0.backbone.'
cohort_r18_d8 = dict(
    type='ResNet',  # torchvision-style stem (conv1/bn1), not ResNetV1c: matches the cohort members
    depth=18,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    contract_dilation=True,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix))
# What every leaf merges into its mmseg recipe's model: the backbone above in place of the recipe's ResNetV1c-50,
# and decode / auxiliary heads narrowed to R18's widths (512-d last stage, 256-d third stage).
cohort_r18_d8_model = dict(
    pretrained=None,
    backbone=dict(cohort_r18_d8, _delete_=True),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
# Every weight of the file must load into the backbone (mmengine's Pretrained init only warns): checked
# before the first step by mcl_mm's StrictPretrainedHook, which names the file and the keys otherwise.
custom_imports = dict(imports=['mcl_mm.engine'], allow_failed_imports=False)
custom_hooks = [dict(type='StrictPretrainedHook')]
