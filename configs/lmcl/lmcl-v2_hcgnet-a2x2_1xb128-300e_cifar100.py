# L-MCL v2, HCGNet-A2 x2, CIFAR-100, 300 epochs (the authors' lmcl_hcgnet_A2_cifar nets).
_base_ = [
    '../_base_/models/lmcl-v2_cifar_resnet.py',
    '../_base_/models/cifar_members.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=[{{_base_.hcgnet_a2}}, {{_base_.hcgnet_a2}}],
    num_members=None,
    branches=[{{_base_.hcgnet_branches}}, {{_base_.hcgnet_branches}}],
)
