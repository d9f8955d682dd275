# L-MCL v1, ResNet-110 (the authors' bottleneck net, 256-d output) x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per
# batch), 300 epochs.
_base_ = './lmcl-v1_resnet32x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(depth=110, block='bottleneck'), head=dict(in_channels=256)))
