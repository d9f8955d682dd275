# Baseline for mcl_resnet110x4_1xb128-300e_cifar100.py: the same members, data, schedule and seeds, trained
# independently (every MCL term off, no memory bank). Reports each member and their ensemble like the cohort run.
_base_ = '../mcl_resnet110x4_1xb128-300e_cifar100.py'

model = dict(memory=None, loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0, kd=0.0)))
custom_hooks = []
