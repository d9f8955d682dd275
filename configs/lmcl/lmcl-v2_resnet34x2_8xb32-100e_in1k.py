# L-MCL v2, ResNet-34 x2, ImageNet-1k, 100 epochs, 8 GPUs x 32 images.
_base_ = ['./lmcl-v1_resnet34x2_8xb32-100e_in1k.py', '../_base_/models/lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
