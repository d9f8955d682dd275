# A MoCo cohort trained with MCL (mcl_mm.MoCoMCL): every member is a MoCo query encoder (torchvision-style ResNet +
# projection neck) with its own momentum key encoder and queue. Members are stored under `members.<i>.`, so the
# query backbone that linear evaluation / detection / segmentation use is `members.<i>.backbone.`.
model = dict(
    type='MoCoMCL',
    members=dict(
        # zero_init_residual=False: torchvision's default, which the authors' encoders (torchvision resnets) keep.
        backbone=dict(
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(3, ),
            style='pytorch',
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        # MoCo v2's MLP projection, hidden width = the backbone's output width (as in MoCo v2).
        neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=512, out_channels=128, with_avg_pool=True)),
    num_members=2,
    queue_len=65536,  # K negatives per member
    feat_dim=128,
    momentum=0.001,  # key <- 0.999 * key + 0.001 * query: the authors' m = 0.999 in mmengine's EMA convention
    loss=dict(
        tau=0.07,
        kl_temperature=3.0,
        # alpha (vcl) = beta (icl) = gamma (soft_vcl) = lambda (soft_icl) = 1: main_moco_mcl.py sums the four terms.
        loss_weights=dict(vcl=1.0, icl=1.0, soft_vcl=1.0, soft_icl=1.0)),
)
