# The baseline of mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k.py: the same two MoCo members trained side by side
# with VCL (each member's own MoCo loss) only, ICL / Soft VCL / Soft ICL off: two independent MoCo runs.
_base_ = './mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k.py'

model = dict(loss=dict(loss_weights=dict(vcl=1.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
