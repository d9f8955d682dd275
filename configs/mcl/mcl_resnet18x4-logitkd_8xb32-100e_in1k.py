# MCL x4 + ensemble logit KD (MCL_SPEC §2c, teacher detached), ResNet-18, ImageNet-1k.
_base_ = [
    '../_base_/models/mcl_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_members=4, loss=dict(loss_weights=dict(kd=1.0)))
