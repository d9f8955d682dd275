# L-MCL v2 with a heterogeneous pair: ResNet-18 (member 0) & ResNet-50 (member 1), ImageNet-1k.
_base_ = ['./lmcl-v1_resnet18-resnet50_8xb32-100e_in1k.py', '../_base_/models/lmcl-v2_in1k_objective.py']

model = {{_base_.lmcl_v2_model}}
custom_hooks = {{_base_.lmcl_v2_hooks}}
