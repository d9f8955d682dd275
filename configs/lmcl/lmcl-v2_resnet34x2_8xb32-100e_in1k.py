# L-MCL v2, ResNet-34 x2, ImageNet-1k, 100 epochs, 8 GPUs x 32 images.
_base_ = [
    '../_base_/models/lmcl-v2_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(backbone=dict(depth=34), head=dict(in_channels=512)),
    num_members=2,
)
