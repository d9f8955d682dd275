# Baseline for lmcl-{v1,v2}_shufflenetv2-1.0-resnet50_8xb32-100e_in1k.py (the authors' ShuffleNetV2 & ResNet-50 row;
# no MCL config of its own): the same members, data, schedule and seeds, trained independently (every MCL term off, no
# memory bank, no auxiliary branches). Reports each member and their ensemble like the cohort run.
_base_ = [
    '../../_base_/models/mcl_resnet_in1k.py',
    '../../_base_/models/in1k_members.py',
    '../../_base_/datasets/imagenet_bs32_mcl.py',
    '../../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../../_base_/default_runtime.py',
]

model = dict(
    members=[{{_base_.shufflenetv2_1x}}, {{_base_.resnet50}}],
    num_members=None,
    memory=None,
    loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0, kd=0.0)),
)
custom_hooks = []
