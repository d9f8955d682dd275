# L-MCL v2, a heterogeneous pair: ShuffleNetV2 1x (member 0) & WRN-40-2 (member 1),
# CIFAR-100, 300 epochs (the authors' lmcl_*_cifar nets).
_base_ = ['./lmcl-v1_shufflenetv2-1.0-wrn40-2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
