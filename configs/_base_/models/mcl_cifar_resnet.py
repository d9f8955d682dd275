# An MCL cohort of CIFAR ResNets with the in-batch contrast (docs/method.md §2b): no bank, M-per-class batches.
model = dict(
    type='MCL',
    members=dict(
        backbone=dict(type='CifarResNet', depth=32),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)),
    ),
    num_members=2,
    embed_head=dict(type='ContrastEmbedHead', hid_channels=128, out_channels=128),
    loss=dict(tau=0.1, kl_temperature=3.0, loss_weights=dict(vcl=0.1, icl=0.1, soft_vcl=1.0, soft_icl=1.0, kd=0.0)),
    memory=None,
)
