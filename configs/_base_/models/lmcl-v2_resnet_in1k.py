# L-MCL v2 on ImageNet ResNets (docs/method.md §3): the v1 cohort (./lmcl_resnet_in1k.py) with the v2 objective
# (./lmcl-v2_in1k_objective.py).
_base_ = ['./lmcl_resnet_in1k.py', './lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
