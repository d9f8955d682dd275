# L-MCL v2, ShuffleNetV2 0.5x x2, CIFAR-100, 300 epochs (the authors' lmcl_*_cifar nets).
_base_ = ['./lmcl-v1_shufflenetv2-0.5x2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
