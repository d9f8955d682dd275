# Baseline for mcl_hcgnet-a2x4-logitkd_1xb128-300e_cifar100.py: the same cohort, data, schedule and seeds with ensemble
# logit KD only (every contrastive term off, no memory bank): what MCL's contrast adds on top of logit KD.
_base_ = '../mcl_hcgnet-a2x4-logitkd_1xb128-300e_cifar100.py'

model = dict(memory=None, loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
custom_hooks = []
