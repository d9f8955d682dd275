# L-MCL v2, wrn40-2 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = ['./lmcl-v1_wrn40-2x2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
