# The baseline of mocov2-mcl_resnet50x2_8xb32-coslr-200e_in1k.py: two independent MoCo v2 ResNet-50s (VCL only).
_base_ = './mocov2-mcl_resnet50x2_8xb32-coslr-200e_in1k.py'

model = dict(loss=dict(loss_weights=dict(vcl=1.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
