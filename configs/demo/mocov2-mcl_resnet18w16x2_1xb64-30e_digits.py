# Self-supervised demo cohort: MoCo v2 + MCL x2 with the supervised demo's members (ResNet-18 at 1/4 width),
# pretrained on the digits images without their labels (tools/demo.py --selfsup). MoCo v2's recipe scaled to
# the world: queue of 1024 keys per member (the set has 2000 images), tau 0.2, cosine lr.
_base_ = [
    '../_base_/models/moco-mcl_resnet_in1k.py',
    './_base_/digits_twoview.py',
    '../_base_/default_runtime.py',
]
model = dict(
    members=dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=16),
        neck=dict(type='MoCoV2Neck', in_channels=128, hid_channels=128, out_channels=128, with_avg_pool=True)),
    queue_len=1024,
    momentum=0.01,  # key <- 0.99 key + 0.01 query: a 900-step run needs a faster key encoder than ImageNet's
    loss=dict(tau=0.2),
)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.06, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=30, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=30, max_keep_ckpts=1))
randomness = dict(seed=0)
