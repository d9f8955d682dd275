# Linear evaluation of one ResNet-50 MoCo-MCL member (as resnet18_8xb32-linear-steplr-100e_in1k.py).
_base_ = './resnet18_8xb32-linear-steplr-100e_in1k.py'

pretrained = 'work_dirs/mocov2-mcl_resnet50x2_8xb32-coslr-200e_in1k/epoch_200.pth'
prefix = 'members.0.backbone.'
model = dict(
    backbone=dict(depth=50, init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)),
    head=dict(in_channels=2048))
