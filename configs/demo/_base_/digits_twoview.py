# The demo's image folder (tools/demo.py generates it) as unlabelled two-view data for MoCo cohorts: two augmented views
# per image (MoCo v2's view augmentation at 32 px without blur, and no hue jitter: mmcv's hue shift overflows uint8
# under numpy 2); labels are not read.
_base_ = ['./digits_classification.py']
data_preprocessor = dict(
    _delete_=True, type='SelfSupDataPreprocessor', mean=[127.5, 127.5, 127.5], std=[64.0, 64.0, 64.0], to_rgb=True)
view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)],
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileChecked', on_error='fail'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    drop_last=True,
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=train_pipeline),
)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
