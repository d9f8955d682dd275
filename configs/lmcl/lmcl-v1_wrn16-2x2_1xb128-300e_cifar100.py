# L-MCL v1, wrn16-2 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './lmcl-v1_wrn40-2x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(depth=16)))
