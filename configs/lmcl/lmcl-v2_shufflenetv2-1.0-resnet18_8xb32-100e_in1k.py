# L-MCL v2, a heterogeneous pair: ShuffleNetV2 1.0x (member 0) & ResNet-18 (member 1), ImageNet-1k, 100 epochs
# (the authors' lmcl_res18_shufflenetv2_1x_imagenet: each net with its own branches, 4 stages each). Their code
# builds ResNet-18 first; the order of their table is kept, every L-MCL term being symmetric in the members.
_base_ = ['./lmcl-v1_shufflenetv2-1.0-resnet18_8xb32-100e_in1k.py', '../_base_/models/lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
