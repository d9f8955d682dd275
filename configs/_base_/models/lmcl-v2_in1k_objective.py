# The L-MCL v2 objective on ImageNet (docs/method.md §3) as two variables that turn an L-MCL v1 config into v2
# (`model = {{_base_.lmcl_v2_model}}`, `custom_hooks = {{_base_.lmcl_v2_hooks}}`): alpha = beta = 0.01, meta step
# every 500 iterations (2 look-ahead steps with the authors' MetaSGD: momentum from zero, no Nesterov), stage
# aggregator + aggregate KD; the memory-bank hook and the weight network's optimizer.
lmcl_v2_model = dict(
    mode='v2',
    loss=dict(loss_weights=dict(vcl=0.01, icl=0.01)),
    aggregate_kd_weight=1.0,
    weight_net=dict(proj_dim=128),
    meta=dict(freq=500, times=2, lookahead='authors'),
)
lmcl_v2_hooks = [
    dict(type='CohortMemoryHook'),
    dict(type='LMCLMetaHook', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)),
]
