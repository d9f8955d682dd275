# DML (Deep Mutual Learning, the online-KD baseline) with the members, data and schedule of
# ../mcl/mcl_resnet18-resnet50_8xb32-100e_in1k.py: each member's CE + KL to its peers' detached predictions.
_base_ = '../mcl/mcl_resnet18-resnet50_8xb32-100e_in1k.py'

model = dict(
    _delete_=True, type='DML', members={{_base_.model.members}}, loss=dict(kl_temperature=1.0, loss_weight=1.0))
custom_hooks = []
