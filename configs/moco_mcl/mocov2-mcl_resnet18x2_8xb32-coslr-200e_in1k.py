# MoCo v2 + MCL x2, ResNet-18 members, ImageNet-1k, 200 epochs, 8 GPUs x 32 images: mmpretrain's MoCo v2 recipe
# (MLP projection, v2 augmentation, cosine lr 0.03, tau 0.2) with the authors' MCL terms (all weights 1, T 3).
# For the authors' own (MoCo v1-style) run see mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k.py.
_base_ = [
    '../_base_/models/moco-mcl_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(
        backbone=dict(depth=18),
        neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512, out_channels=128, with_avg_pool=True)),
    num_members=2,
    loss=dict(tau=0.2),  # MoCo v2's temperature (mmpretrain's mocov2 config); the authors' v1-style run used 0.07
)
