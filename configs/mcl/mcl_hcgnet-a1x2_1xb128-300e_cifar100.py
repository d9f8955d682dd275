# MCL x2, HCGNet-A1 members (CIFAR stem), CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = [
    '../_base_/models/mcl_cifar_resnet.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(backbone=dict(_delete_=True, type='HCGNet', arch='A1'), head=dict(in_channels=414)),
    num_members=2,
)
