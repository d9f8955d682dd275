# MCL x4, wrn40-2 branches on a shared stem + layer1 (the authors' x4 net),
# CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './mcl_wrn40-2x2_1xb128-300e_cifar100.py'

# The authors' x4 CIFAR net is multi-branch: the stem and layer1 are shared, layer2..3 + classifier per member.
model = dict(num_members=4, shared_trunk=['conv1', 'layer1'])
