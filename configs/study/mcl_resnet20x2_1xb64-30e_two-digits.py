# Study arm: MCL x2, in-batch contrast (VCL, ICL, Soft VCL, Soft ICL).
_base_ = ['./_base_/two-digits_cifar-recipe.py']
model = dict(
    type='MCL',
    members={{_base_.member}},
    num_members=2,
    memory=None,
    embed_head={{_base_.embed_head}},
    loss={{_base_.mcl_loss}})
