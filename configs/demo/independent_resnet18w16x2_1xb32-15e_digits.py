# Baseline for the demo: the same two members, data, schedule and seed, trained independently.
_base_ = './mcl_resnet18w16x2_1xb32-15e_digits.py'
model = dict(memory=None, loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0, kd=0.0)))
custom_hooks = []
