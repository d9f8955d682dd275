# The demo cohort: MCL x2 with ResNet-18 members at 1/4 width (16-32-64-128 channels) sized for the
# generated 32 px digits, memory-bank path with the paper's loss weights and temperatures.
_base_ = [
    '../_base_/models/mcl_resnet_in1k.py',
    './_base_/digits_classification.py',
    '../_base_/default_runtime.py',
]
num_train = 2000  # images in data/demo/digits_cls/train (tools/demo.py); the bank has one slot each
model = dict(
    members=dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=16),
        head=dict(num_classes=10, in_channels=128, topk=(1, ))),
    num_members=2,
    memory=dict(num_samples=num_train, neg_k=1024),
)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=15, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=15, val_interval=3)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=15, max_keep_ckpts=1))
randomness = dict(seed=0)
