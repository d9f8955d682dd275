# Runtime shared by mcl_mm configs (mmpretrain conventions).
default_scope = 'mcl_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),  # progress, ETA, every loss term
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    loss_guard=dict(type='NonFiniteLossHook'),  # stop at the first NaN/Inf term, naming it
    data_check=dict(type='CohortDataCheckHook'),  # empty data / class-count mismatch fail before training
    # a member still at chance after the lr warm-up with an unmoved CE: a loud warning (action='stop' ends the run)
    chance_guard=dict(type='ChanceLevelHook', action='warn'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when no GPU is present; a collective stuck for `timeout` seconds (a
    # dead peer) fails instead of hanging forever.
    dist_cfg=dict(backend='nccl', timeout=1800),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
