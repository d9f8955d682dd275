# DML (Deep Mutual Learning, the online-KD baseline) with the members, data and schedule of
# ../mcl/mcl_shufflenetv2-1.0x2_1xb128-300e_cifar100.py: each member's CE + KL to its peers' detached predictions.
_base_ = '../mcl/mcl_shufflenetv2-1.0x2_1xb128-300e_cifar100.py'

model = dict(
    _delete_=True,
    type='DML',
    members={{_base_.model.members}},
    num_members=2,
    loss=dict(kl_temperature=1.0, loss_weight=1.0))
custom_hooks = []
