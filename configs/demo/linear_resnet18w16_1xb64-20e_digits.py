# Linear evaluation on the digits world: a pretrained member's backbone frozen (weights and BN statistics), its
# pooled features standardised by a parameter-free BatchNorm (MAE's linear probe, mmpretrain's ClsBatchNormNeck),
# a linear classifier trained on the labelled image folder (SGD 0.1, no weight decay, steps at 60 / 80 %). MoCo's
# lr 30 on raw features diverged here for every initialisation, random included (chance top-1).
# tools/demo.py --selfsup sets model.backbone.init_cfg.checkpoint to an extract_backbone file.
_base_ = [
    './_base_/digits_classification.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        frozen_stages=4,
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix=None)),
    neck=[dict(type='GlobalAveragePooling'),
          dict(type='ClsBatchNormNeck', input_features=128)],
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128, loss=dict(type='CrossEntropyLoss'), topk=(1, )),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[12, 16], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=20)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=20, max_keep_ckpts=1))
randomness = dict(seed=0)
