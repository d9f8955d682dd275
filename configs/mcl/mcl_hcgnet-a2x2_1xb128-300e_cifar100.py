# MCL x2, HCGNet-A2 members (CIFAR stem), CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './mcl_hcgnet-a1x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(arch='A2'), head=dict(in_channels=716)))
