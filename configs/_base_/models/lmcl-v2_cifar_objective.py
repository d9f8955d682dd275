# The L-MCL v2 objective on CIFAR nets (docs/method.md §3) as two variables that turn an L-MCL v1 config into v2
# (`model = {{_base_.lmcl_v2_model}}`, `custom_hooks = {{_base_.lmcl_v2_hooks}}`): every cross-member stage pair,
# weighted by the meta-learned layer-matching network (meta step every 50 iterations, 2 look-ahead steps with the
# authors' MetaSGD: momentum from zero, no Nesterov), stage aggregator + aggregate KD; the weight network's
# optimizer is the authors' (the network's lr and schedule, momentum 0.9, Nesterov).
lmcl_v2_model = dict(
    mode='v2', aggregate_kd_weight=1.0, weight_net=dict(proj_dim=128), meta=dict(freq=50, times=2, lookahead='authors'))
lmcl_v2_hooks = [
    dict(type='LMCLMetaHook', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)),
]
