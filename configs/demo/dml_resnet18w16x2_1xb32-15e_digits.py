# DML (Deep Mutual Learning, the online-KD baseline) for the demo: the two members, data, schedule and seed of
# mcl_resnet18w16x2_1xb32-15e_digits.py, each member's CE + KL to its peer's detached prediction.
_base_ = './mcl_resnet18w16x2_1xb32-15e_digits.py'

model = dict(
    _delete_=True,
    type='DML',
    members={{_base_.model.members}},
    num_members=2,
    loss=dict(kl_temperature=1.0, loss_weight=1.0))
custom_hooks = []
