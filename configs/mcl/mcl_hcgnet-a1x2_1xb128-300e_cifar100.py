# MCL x2, HCGNet-A1 members (CIFAR stem), CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './mcl_resnet32x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(_delete_=True, type='HCGNet', arch='A1'), head=dict(in_channels=414)))
