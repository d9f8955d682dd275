# MoCo v2 + MCL x2, ResNet-50 members, ImageNet-1k, 200 epochs, 8 GPUs x 32 images (mmpretrain's
# mocov2_resnet50_8xb32-coslr-200e_in1k.py recipe for each member, plus the MCL terms). Not run by the authors.
_base_ = './mocov2-mcl_resnet18x2_8xb32-coslr-200e_in1k.py'

model = dict(members=dict(backbone=dict(depth=50), neck=dict(in_channels=2048, hid_channels=2048)))
