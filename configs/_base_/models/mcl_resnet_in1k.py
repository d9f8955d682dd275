# An MCL cohort of torchvision-style ResNets on ImageNet with per-member memory banks (docs/method.md §1-2a).
model = dict(
    type='MCL',
    members=dict(
        backbone=dict(
            type='ResNet', depth=18, num_stages=4, out_indices=(3, ), style='pytorch', zero_init_residual=False),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=512,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)),
    ),
    num_members=2,
    embed_head=dict(type='ContrastEmbedHead', hid_channels=128, out_channels=128),
    loss=dict(
        tau=0.07,
        kl_temperature=3.0,
        # alpha (vcl) = beta (icl) = 0.1, gamma (soft_vcl) = lambda (soft_icl) = 1; kd = optional logit KD
        loss_weights=dict(vcl=0.1, icl=0.1, soft_vcl=1.0, soft_icl=1.0, kd=0.0)),
    memory=dict(type='CohortMemoryBank', num_samples=1281167, pos_k=1, neg_k=8192, momentum=0.5, fp16=False),
)
# Fills the banks' label table from the training set and checks the bank size against it.
custom_hooks = [dict(type='CohortMemoryHook')]
