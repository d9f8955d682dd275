# The ImageNet-1k nets of the L-MCL tables as cohort members, and each family's L-MCL branches (the authors'
# models/lmcl_resnet_imagenet.py and models/lmcl_shufflenetv2_imagenet.py). Heterogeneous configs list two:
# model = dict(members=[{{_base_.shufflenetv2_1x}}, {{_base_.resnet18}}], branches=[...], num_members=None).
in1k_cls_head = dict(
    type='LinearClsHead', num_classes=1000, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
gap_neck = dict(type='GlobalAveragePooling')

# torchvision-style ResNets; zero_init_residual=False as torchvision's default, which the authors' nets keep.
resnet18 = dict(
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ), style='pytorch', zero_init_residual=False),
    neck=gap_neck,
    head=dict(in1k_cls_head, in_channels=512))
resnet50 = dict(
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch', zero_init_residual=False),
    neck=gap_neck,
    head=dict(in1k_cls_head, in_channels=2048))
# mmpretrain's ShuffleNetV2 1.0x is the authors' ShuffleNetV2_1x_imagenet block for block (3x3/2 stem to 24 +
# max-pool, stages of 4 / 8 / 4 blocks at 116 / 232 / 464, 1x1 conv to 1024): 2,278,604 parameters with the
# 1000-class classifier, as theirs and torchvision's shufflenet_v2_x1_0 (tests/test_configs/test_fidelity.py).
shufflenetv2_1x = dict(
    backbone=dict(type='ShuffleNetV2', widen_factor=1.0, out_indices=(3, )),
    neck=gap_neck,
    head=dict(in1k_cls_head, in_channels=1024))

# ResNets: taps after layer1..layer3, each branch the first block of every remaining stage.
resnet_branches = dict(
    stages=('layer1', 'layer2', 'layer3', 'layer4'), taps=('layer1', 'layer2', 'layer3'), depth='first_block')
# ShuffleNetV2 (mmpretrain keeps the stages in `layers`; layers.3 is the 1x1 conv to 1024 + BN + ReLU): taps after
# the stem (max-pool), stage 1 and stage 2. The stem branch copies the first two blocks (the stride-2 block and one
# more) of each of the three stages, the other two copy the remaining stages whole; every branch ends with a copy
# of the 1x1 conv to 1024. The authors leave these branches at PyTorch's default initialisation (init_cfg=None:
# the fresh copies keep their reset_parameters() values), where their ResNet branches use Kaiming fan_out.
shufflenet_branches = dict(
    stages=('maxpool', 'layers.0', 'layers.1', 'layers.2', 'layers.3'),
    taps=('maxpool', 'layers.0', 'layers.1'),
    depth=(2, 'full', 'full'),
    init_cfg=None)
