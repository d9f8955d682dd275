# Baseline for lmcl-{v1,v2}_shufflenetv2-1.0-resnet50_8xb32-100e_in1k.py (the authors' ShuffleNetV2 & ResNet-50 row;
# no MCL config of its own): the same members, data, schedule and seeds, trained independently (every MCL term off, no
# memory bank, no auxiliary branches). Reports each member and their ensemble like the cohort run.
_base_ = './independent_shufflenetv2-1.0x2_8xb32-100e_in1k.py'

model = dict(members=[{{_base_.shufflenetv2_1x}}, {{_base_.resnet50}}])
