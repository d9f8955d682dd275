# Baseline for mcl_resnet18x4-logitkd_8xb32-100e_in1k.py: the same cohort, data, schedule and seeds with ensemble logit
# KD only (every contrastive term off, no memory bank): what MCL's contrast adds on top of logit KD.
_base_ = '../mcl_resnet18x4-logitkd_8xb32-100e_in1k.py'

model = dict(memory=None, loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
custom_hooks = []
