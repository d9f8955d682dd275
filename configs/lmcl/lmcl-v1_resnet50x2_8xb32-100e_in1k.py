# L-MCL v1, ResNet-50 x2, ImageNet-1k, 100 epochs, 8 GPUs x 32 images.
_base_ = './lmcl-v1_resnet18x2_8xb32-100e_in1k.py'

model = dict(members=dict(backbone=dict(depth=50), head=dict(in_channels=2048)))
