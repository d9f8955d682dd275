# MCL x4, resnet56 branches on a shared stem + layer1 (the authors' x4 net),
# CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = [
    '../_base_/models/mcl_cifar_resnet.py',
    '../_base_/datasets/cifar100_bs128_mperclass.py',
    '../_base_/schedules/cifar100_sgd_cosine_300e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=dict(backbone=dict(_delete_=True, type='CifarResNet', depth=56), head=dict(in_channels=64)),
    num_members=4,
    # The authors' x4 CIFAR net is multi-branch: the stem and layer1 are shared, layer2..3 + classifier per member.
    shared_trunk=['conv1', 'bn1', 'layer1'],
)
