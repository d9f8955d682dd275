# Study arm: MCL x2 + logit KD from the cohort's mean logits (weight 1, T 3; the paper's "+ Logit KD" rows).
_base_ = ['./mcl_resnet20x2_1xb64-30e_two-digits.py']
model = dict(loss=dict(loss_weights=dict(kd=1.0)))
