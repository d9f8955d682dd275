# Study arm: L-MCL v2 x2 (branches after layer1 and layer2, meta-learned layer matching, aggregate KD).
_base_ = ['./_base_/two-digits_cifar-recipe.py', '../_base_/models/lmcl-v2_cifar_resnet.py']
model = dict(members={{_base_.member}}, num_members=2, embed_head={{_base_.embed_head}}, loss={{_base_.mcl_loss}})
custom_hooks = [
    dict(type='LMCLMetaHook', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True))
]
