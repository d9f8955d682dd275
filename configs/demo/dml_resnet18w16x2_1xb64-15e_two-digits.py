# Demo-size DML x2 (the transfer study's online-KD arm): the members, data, schedule and seeds of
# mcl_resnet18w16x2_1xb64-15e_two-digits.py with the study's DML objective (CE + KL to the peer's detached
# prediction; the DML paper's T = 1, weight 1) instead of MCL's. Only the objective differs.
_base_ = ['./mcl_resnet18w16x2_1xb64-15e_two-digits.py']
model = dict(
    _delete_=True,
    type='DML',
    members={{_base_.model.members}},
    num_members=2,
    loss=dict(kl_temperature=1.0, loss_weight=1.0))
