# L-MCL v1, a heterogeneous pair: ShuffleNetV2 1.0x (member 0) & ResNet-18 (member 1), ImageNet-1k, 100 epochs
# (the authors' lmcl_res18_shufflenetv2_1x_imagenet: each net with its own branches, 4 stages each). Their code
# builds ResNet-18 first; the order of their table is kept, every L-MCL term being symmetric in the members.
_base_ = [
    '../_base_/models/lmcl_resnet_in1k.py',
    '../_base_/models/in1k_members.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    members=[{{_base_.shufflenetv2_1x}}, {{_base_.resnet18}}],
    num_members=None,
    branches=[{{_base_.shufflenet_branches}}, {{_base_.resnet_branches}}],
)
