# L-MCL v1, wrn40-2 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './lmcl-v1_resnet32x2_1xb128-300e_cifar100.py'

model = dict(
    members=dict(backbone=dict(_delete_=True, type='WideResNet', depth=40, widen_factor=2), head=dict(in_channels=128)),
    # WRN is pre-activation: the branches end with copies of its final BN-ReLU.
    branches=dict(tail=('bn_final', 'relu_final')),
)
