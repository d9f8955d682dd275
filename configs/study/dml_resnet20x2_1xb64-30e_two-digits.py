# Study arm: Deep Mutual Learning (CE + KL to the peer's detached prediction; the DML paper's T = 1, weight 1).
_base_ = ['./_base_/two-digits_cifar-recipe.py']
model = dict(type='DML', members={{_base_.member}}, num_members=2, loss=dict(kl_temperature=1.0, loss_weight=1.0))
