# MCL x4, HCGNet-A2 branches on a shared stem + first hybrid block and transition (the authors' x4 net),
# CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = './mcl_hcgnet-a2x2_1xb128-300e_cifar100.py'

# The authors' HCGNet_b shares the stem conv, the first hybrid block and the first transition (our `layer1`);
# block 2, transition 2, block 3, the final BN and the classifier are per member.
model = dict(num_members=4, shared_trunk=['conv1', 'layer1'])
