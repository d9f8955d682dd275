# L-MCL v2, HCGNet-A1 x2, CIFAR-100, 300 epochs (the authors' lmcl_hcgnet_A1_cifar nets).
_base_ = ['./lmcl-v1_hcgnet-a1x2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
