# Baseline of mocov2-mcl_resnet18w16x2_1xb64-30e_digits.py: the same two MoCo members, data, schedule and seeds,
# trained independently (ICL, Soft VCL, Soft ICL off: each member's own MoCo loss only).
_base_ = './mocov2-mcl_resnet18w16x2_1xb64-30e_digits.py'
model = dict(loss=dict(loss_weights=dict(icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
