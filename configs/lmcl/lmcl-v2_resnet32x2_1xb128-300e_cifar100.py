# L-MCL v2, resnet32 x2, CIFAR-100 (in-batch contrast, 64 classes x 2 per batch), 300 epochs.
_base_ = ['./lmcl-v1_resnet32x2_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
