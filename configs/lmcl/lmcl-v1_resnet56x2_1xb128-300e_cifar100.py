# L-MCL v1, resnet56 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './lmcl-v1_resnet32x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(depth=56)))
