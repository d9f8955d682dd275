# ImageNet-1k, two views per image with MoCo v1's augmentation: what the authors' MoCo + MCL run used
# (main_moco_mcl.py without --aug-plus): RandomResizedCrop 224 (0.2-1), grayscale 0.2, colour jitter 0.4 x 4, flip.
_base_ = './imagenet_bs32_mocov2.py'

view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.4),
    dict(type='RandomFlip', prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFileChecked', on_error='fail'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
