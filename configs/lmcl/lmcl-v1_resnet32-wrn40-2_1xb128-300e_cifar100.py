# L-MCL v1 with a heterogeneous pair: ResNet-32 (member 0) & WRN-40-2 (member 1), CIFAR-100, 300 epochs.
_base_ = [
    '../_base_/models/lmcl_cifar_resnet.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

_head = dict(type='LinearClsHead', num_classes=100, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
_stages = dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2'), depth='full')
model = dict(
    members=[
        dict(
            backbone=dict(type='CifarResNet', depth=32),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(_head, in_channels=64)),
        dict(
            backbone=dict(type='WideResNet', depth=40, widen_factor=2),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(_head, in_channels=128)),
    ],
    num_members=None,
    branches=[_stages, dict(_stages, tail=('bn_final', 'relu_final'))],
)
