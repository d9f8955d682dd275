# Self-supervised pre-training: SGD 0.03 for batch 256, momentum 0.9, wd 1e-4, cosine per epoch, 200 epochs
# (mmpretrain's MoCo v2 schedule; the authors' --cos option). No validation during pre-training.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
