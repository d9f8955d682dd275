# Demo pretraining baseline: the same two members, data, schedule and seeds, trained independently (CE only): the
# MCL config with every contrastive term off (no embedding heads are built then).
_base_ = ['./mcl_resnet18w16x2_1xb64-15e_two-digits.py']
model = dict(loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)))
