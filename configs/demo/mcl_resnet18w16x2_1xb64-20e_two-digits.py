# Demo pretraining, MCL x2: the in-batch contrast (VCL, ICL, Soft VCL, Soft ICL) beside each member's CE.
_base_ = ['./_base_/two-digits_in-batch_r18w16.py']
model = dict(
    type='MCL',
    members={{_base_.member}},
    num_members=2,
    memory=None,
    embed_head={{_base_.embed_head}},
    loss={{_base_.mcl_loss}})
