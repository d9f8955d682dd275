# L-MCL v2, a heterogeneous pair: ResNet-32 (member 0) & ResNet-110 (bottleneck) (member 1),
# CIFAR-100, 300 epochs (the authors' lmcl_*_cifar nets).
_base_ = ['./lmcl-v1_resnet32-resnet110_1xb128-300e_cifar100.py', '../_base_/models/lmcl-v2_cifar_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
