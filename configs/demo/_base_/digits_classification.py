# The demo's ImageNet-style image folder (tools/demo.py generates it): handwritten digits 0-9, 32 px,
# train and val from disjoint writers.
data_root = 'data/demo/digits_cls'
num_classes = 10
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[127.5, 127.5, 127.5],
    std=[64.0, 64.0, 64.0],
    to_rgb=True,
)
train_pipeline = [
    dict(type='LoadImageFromFileChecked', on_error='fail'),  # 'skip': skip + count undecodable files
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.6, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFileChecked', on_error='fail'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='CohortAccuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
