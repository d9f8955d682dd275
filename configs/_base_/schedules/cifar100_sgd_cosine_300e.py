# SGD Nesterov, cosine from 0.1 over 300 epochs, wd 5e-4, batch 128 (docs/method.md §4). The lr is set once per
# epoch, lr_e = 0.05 (1 + cos(pi e / 300)), as the authors' adjust_lr does (not per iteration).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=300, eta_min=0.0)
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
