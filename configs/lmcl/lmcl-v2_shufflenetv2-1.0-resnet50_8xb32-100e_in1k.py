# L-MCL v2, a heterogeneous pair: ShuffleNetV2 1.0x (member 0) & ResNet-50 (member 1), ImageNet-1k, 100 epochs
# (the authors' lmcl_res50_shufflenetv2_1x_imagenet: each net with its own branches, 4 stages each).
_base_ = ['./lmcl-v1_shufflenetv2-1.0-resnet50_8xb32-100e_in1k.py', '../_base_/models/lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
