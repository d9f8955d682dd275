# L-MCL v2, ShuffleNetV2 1.0x x2, ImageNet-1k, 100 epochs, 8 GPUs x 32 images (the authors'
# lmcl_ShuffleNetV2_1x_imagenet: taps after the stem, stage 1 and stage 2).
_base_ = ['./lmcl-v1_shufflenetv2-1.0x2_8xb32-100e_in1k.py', '../_base_/models/lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
