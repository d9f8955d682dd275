# Ablation for L-MCL on the demo: the same members and auxiliary branches (CE on every stage classifier), every
# contrastive term off — separates the branches' deep supervision from the layer-wise contrast.
_base_ = './lmcl-v1_resnet18w16x2_1xb32-15e_digits.py'
model = dict(memory=None, loss=dict(loss_weights=dict(vcl=0.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0, kd=0.0)))
custom_hooks = []
