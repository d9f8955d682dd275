# L-MCL v1, wrn16-2 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = [
    '../_base_/models/lmcl_cifar_resnet.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(backbone=dict(_delete_=True, type='WideResNet', depth=16, widen_factor=2), head=dict(in_channels=128)),
    num_members=2,
    # WRN is pre-activation: the branches end with copies of its final BN-ReLU.
    branches=dict(tail=('bn_final', 'relu_final')),
)
