# MCL x2, ShuffleNetV2 1.0x members with the CIFAR stem, CIFAR-100 (in-batch contrast, 64 classes x 2), 300 epochs.
_base_ = './mcl_resnet32x2_1xb128-300e_cifar100.py'

model = dict(
    members=dict(backbone=dict(_delete_=True, type='CifarShuffleNetV2', widen_factor=1.0), head=dict(in_channels=1024)))
