# Self-supervised pre-training as the authors' main_moco_mcl.py defaults: SGD 0.03 for batch 256, momentum 0.9,
# wd 1e-4, x0.1 at epochs 120 and 160, 200 epochs. No validation during pre-training.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
