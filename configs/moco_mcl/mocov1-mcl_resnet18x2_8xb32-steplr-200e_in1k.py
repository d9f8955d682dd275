# MoCo + MCL x2, ResNet-18 members, ImageNet-1k, 200 epochs, 8 GPUs x 32 images: the authors' run
# (README of winycg/MCL: main_moco_mcl.py -a resnet18 --lr 0.03 --batch-size 256 --number-net 2, without --mlp,
# --aug-plus or --cos): MoCo v1 linear projection to 128, MoCo v1 augmentation, steps at 120 / 160, tau 0.07.
_base_ = [
    '../_base_/models/moco-mcl_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mocov1.py',
    '../_base_/schedules/imagenet_sgd_steplr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(
        backbone=dict(depth=18),
        # torchvision's resnet18(num_classes=128): global average pooling + one Linear(512 -> 128) (PyTorch's default
        # init, as torchvision's fc), no norm, no activation: the MoCo v1 head.
        neck=dict(
            type='LinearNeck', in_channels=512, out_channels=128, gap_dim=2, norm_cfg=None, act_cfg=None,
            _delete_=True)),
    num_members=2,
    loss=dict(tau=0.07),
)
