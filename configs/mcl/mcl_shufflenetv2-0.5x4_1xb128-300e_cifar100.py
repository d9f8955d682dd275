# MCL x4, ShuffleNetV2 0.5x branches (CIFAR stem) on a shared stem + first stage (the authors' x4 net),
# CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './mcl_shufflenetv2-0.5x2_1xb128-300e_cifar100.py'

# The authors' ShuffleNetV2_b shares the stem conv + BN and the first stage; stages 2-3, the 1x1 conv to 1024
# channels and the classifier are per member. mmpretrain's ShuffleNetV2 keeps its stages in `layers`.
model = dict(num_members=4, shared_trunk=['conv1', 'layers.0'])
