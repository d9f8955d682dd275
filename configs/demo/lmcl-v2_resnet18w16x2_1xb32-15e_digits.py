# L-MCL v2 on the demo digits: v1's branches, every cross-member stage pair weighted by the meta-learned layer
# matching network (ImageNet-path weights alpha = beta = 0.01), stage aggregator + aggregate KD.
_base_ = ['./lmcl-v1_resnet18w16x2_1xb32-15e_digits.py']
model = dict(mode='v2', loss=dict(loss_weights=dict(vcl=0.01, icl=0.01)), meta=dict(freq=50, times=2))
custom_hooks = [
    dict(type='CohortMemoryHook'),
    dict(type='LMCLMetaHook', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4, nesterov=True)),
]
