# L-MCL v2 on CIFAR nets (docs/method.md §3): the v1 cohort (./lmcl_cifar_resnet.py) with the v2 objective
# (./lmcl-v2_cifar_objective.py).
_base_ = ['./lmcl_cifar_resnet.py', './lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
