# MCL x2, ShuffleNetV2 0.5x members with the CIFAR stem, CIFAR-100 (in-batch contrast, 64 classes x 2), 300 epochs.
_base_ = './mcl_shufflenetv2-1.0x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(widen_factor=0.5)))
