# Study arm: the two members trained independently (CE only): the MCL arm with every contrastive term off (no
# embedding heads are built then).
_base_ = ['./mcl_resnet20x2_1xb64-30e_two-digits.py']
model = dict(loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
