# L-MCL v2 with a heterogeneous pair: ResNet-18 (member 0) & ResNet-50 (member 1), ImageNet-1k.
_base_ = [
    '../_base_/models/lmcl-v2_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

_head = dict(type='LinearClsHead', num_classes=1000, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
model = dict(
    members=[
        dict(backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ), style='pytorch',
                           zero_init_residual=False),
             neck=dict(type='GlobalAveragePooling'), head=dict(_head, in_channels=512)),
        dict(backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch',
                           zero_init_residual=False),
             neck=dict(type='GlobalAveragePooling'), head=dict(_head, in_channels=2048)),
    ],
    num_members=None,
)
