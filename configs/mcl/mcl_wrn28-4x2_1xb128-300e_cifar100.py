# MCL x2, wrn28-4 members, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs: the wrn40-2
# recipe with a deeper, wider WRN.
_base_ = './mcl_wrn40-2x2_1xb128-300e_cifar100.py'

model = dict(members=dict(backbone=dict(depth=28, widen_factor=4), head=dict(in_channels=256)))
