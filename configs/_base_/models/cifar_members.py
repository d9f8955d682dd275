# The CIFAR-100 nets of the MCL / L-MCL tables as cohort members, and each family's L-MCL branches (the authors'
# models/lmcl_*_cifar.py: taps after the first two stages, each branch a fresh copy of the remaining stages).
# Heterogeneous configs list two of these: model = dict(members=[{{_base_.resnet32}}, {{_base_.resnet110}}], ...).
cifar_cls_head = dict(
    type='LinearClsHead', num_classes=100, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
gap_neck = dict(type='GlobalAveragePooling')

resnet32 = dict(backbone=dict(type='CifarResNet', depth=32), neck=gap_neck, head=dict(cifar_cls_head, in_channels=64))
resnet56 = dict(backbone=dict(type='CifarResNet', depth=56), neck=gap_neck, head=dict(cifar_cls_head, in_channels=64))
resnet110 = dict(
    backbone=dict(type='CifarResNet', depth=110, block='bottleneck'),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=256))
wrn16_2 = dict(
    backbone=dict(type='WideResNet', depth=16, widen_factor=2),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=128))
wrn40_2 = dict(
    backbone=dict(type='WideResNet', depth=40, widen_factor=2),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=128))
wrn28_4 = dict(
    backbone=dict(type='WideResNet', depth=28, widen_factor=4),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=256))
shufflenetv2_05x = dict(
    backbone=dict(type='CifarShuffleNetV2', widen_factor=0.5),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=1024))
shufflenetv2_1x = dict(
    backbone=dict(type='CifarShuffleNetV2', widen_factor=1.0),
    neck=gap_neck,
    head=dict(cifar_cls_head, in_channels=1024))
hcgnet_a1 = dict(backbone=dict(type='HCGNet', arch='A1'), neck=gap_neck, head=dict(cifar_cls_head, in_channels=414))
hcgnet_a2 = dict(backbone=dict(type='HCGNet', arch='A2'), neck=gap_neck, head=dict(cifar_cls_head, in_channels=716))

resnet_branches = dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2'), depth='full')
# WRN is pre-activation: its branches end with copies of the final BN-ReLU.
wrn_branches = dict(resnet_branches, tail=('bn_final', 'relu_final'))
# mmpretrain's ShuffleNetV2 keeps its stages in `layers`; layers.3 is the 1x1 conv to 1024 + BN + ReLU, which
# every branch copies too (the authors' Auxiliary_Classifier).
shufflenet_branches = dict(
    stages=('layers.0', 'layers.1', 'layers.2', 'layers.3'), taps=('layers.0', 'layers.1'), depth='full')
# HCGNet: each stage `layerK` holds its hybrid block and the transition after it, so the branch tapped after
# layer1 copies block 2, transition 2, block 3 and the final BN-ReLU, and the one after layer2 block 3 and the
# BN-ReLU (the authors' lmcl_hcgnet_cifar Auxiliary_Classifier). init_cfg=None: the copies keep PyTorch's default
# initialisation, as the trunk and the authors' branches.
hcgnet_branches = dict(wrn_branches, init_cfg=None)
