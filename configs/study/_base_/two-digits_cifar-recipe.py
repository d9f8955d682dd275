# The evidence study's world and recipe (docs/study/README.md): the 100 two-digit numbers 00-99 composed from
# scikit-learn's handwritten digits (tools/study.py generates them; train and val from disjoint writers), and
# the paper's small-image recipe: CIFAR-stem ResNets, the in-batch contrast (tau 0.1, T 3) over batches of
# B/2 distinct classes x 2 images, SGD Nesterov with a per-epoch cosine. Every arm inherits this file
# unchanged; only the objective differs.
_base_ = ['../../_base_/default_runtime.py']

data_root = 'data/study/two_digits'
num_classes = 100
train_batch_size = 64
max_epochs = 30
warmup_epochs = 5

data_preprocessor = dict(num_classes=num_classes, mean=[127.5, 127.5, 127.5], std=[64.0, 64.0, 64.0], to_rgb=True)
# No horizontal flip: it would mirror the digits and swap their order (a different class).
train_pipeline = [
    dict(type='LoadImageFromFileChecked', on_error='fail'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFileChecked', on_error='fail'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='MPerClassSampler', batch_size=train_batch_size, m=2),
)
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='CohortAccuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

member = dict(
    backbone=dict(type='CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
)
# The MCL objective of every contrastive arm (the paper's CIFAR weights and temperatures).
mcl_loss = dict(tau=0.1, kl_temperature=3.0, loss_weights=dict(vcl=0.1, icl=0.1, soft_vcl=1.0, soft_icl=1.0, kd=0.0))
embed_head = dict(type='ContrastEmbedHead', hid_channels=128, out_channels=128)

# lr 0.1 x 64/128 (the paper's 0.1 at batch 128, linearly scaled), per-epoch cosine as in the authors' code.
# A linear warm-up over the first epochs (not in the paper's recipe) for every arm: on this world an
# independently trained member can sit at chance for many epochs before it starts to learn (measured).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs, end=max_epochs, eta_min=0.0),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
