# CIFAR-100, batch 128 made of 64 classes x 2 images (the in-batch MCL path, docs/method.md §2b / §4).
dataset_type = 'CIFAR100'
# The sampler builds each batch itself (64 distinct classes x 2 images), so it must know the batch size: one
# variable sets both. An epoch is 50000 // 128 = 390 such batches (the authors' sampler), not a pass over
# every image.
train_batch_size = 128
data_root = 'data/cifar100'
data_preprocessor = dict(
    num_classes=100,
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False,  # CIFAR arrays are already RGB
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='MPerClassSampler', batch_size=train_batch_size, m=2),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='CohortAccuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
