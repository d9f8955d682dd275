# L-MCL v1, ShuffleNetV2 1.0x x2, ImageNet-1k, 100 epochs, 8 GPUs x 32 images (the authors'
# lmcl_ShuffleNetV2_1x_imagenet: taps after the stem, stage 1 and stage 2).
_base_ = [
    '../_base_/models/lmcl_resnet_in1k.py',
    '../_base_/models/in1k_members.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=[{{_base_.shufflenetv2_1x}}, {{_base_.shufflenetv2_1x}}],
    num_members=None,
    branches=[{{_base_.shufflenet_branches}}, {{_base_.shufflenet_branches}}],
)
