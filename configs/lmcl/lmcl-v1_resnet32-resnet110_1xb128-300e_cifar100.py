# L-MCL v1, a heterogeneous pair: ResNet-32 (member 0) & ResNet-110 (bottleneck) (member 1),
# CIFAR-100, 300 epochs (the authors' lmcl_*_cifar nets).
_base_ = [
    '../_base_/models/lmcl_cifar_resnet.py',
    '../_base_/models/cifar_members.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=[{{_base_.resnet32}}, {{_base_.resnet110}}],
    num_members=None,
    branches=[{{_base_.resnet_branches}}, {{_base_.resnet_branches}}],
)
