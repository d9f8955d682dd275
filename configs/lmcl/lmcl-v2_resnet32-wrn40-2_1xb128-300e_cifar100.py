# L-MCL v2 with a heterogeneous pair: ResNet-32 (member 0) & WRN-40-2 (member 1), CIFAR-100, 300 epochs.
_base_ = ['./lmcl-v1_resnet32-wrn40-2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
