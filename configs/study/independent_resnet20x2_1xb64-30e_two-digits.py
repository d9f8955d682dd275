# Study arm: the two members trained independently (CE only).
_base_ = ['./_base_/two-digits_cifar-recipe.py']
model = dict(
    type='MCL',
    members={{_base_.member}},
    num_members=2,
    memory=None,
    loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0, kd=0.0)))
