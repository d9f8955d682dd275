# Linear evaluation of one MoCo-MCL member: its query backbone frozen (weights and BN statistics), a linear
# classifier trained on top, ImageNet-1k, 100 epochs, 8 GPUs x 32 images (mmpretrain's MoCo v2 linear benchmark;
# the authors' main_lincls.py: SGD lr 30, momentum 0.9, no weight decay, x0.1 at epochs 60 and 80, batch 256,
# RandomResizedCrop 224 + flip / resize 256 + centre crop 224, classifier N(0, 0.01)).
_base_ = [
    '../../_base_/datasets/imagenet_bs32_mcl.py',
    '../../_base_/default_runtime.py',
]

# `checkpoint` is the MoCoMCL pre-training checkpoint and `prefix` picks the member (members.<i>.backbone.); for a
# file written by tools/model_converters/extract_backbone.py use prefix=None. Override both on the command line:
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT model.backbone.init_cfg.prefix=members.1.backbone.
pretrained = 'work_dirs/mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k/epoch_200.pth'
prefix = 'members.0.backbone.'
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch',
        frozen_stages=4,  # stem + all four stages frozen and kept in eval mode (the authors' model.eval())
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),  # LinearClsHead initialises its fc N(0, 0.01), bias 0, as the authors
)

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=30., momentum=0.9, weight_decay=0.))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
