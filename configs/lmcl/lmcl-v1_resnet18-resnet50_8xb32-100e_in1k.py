# L-MCL v1 with a heterogeneous pair: ResNet-18 (member 0) & ResNet-50 (member 1), ImageNet-1k.
_base_ = './lmcl-v1_resnet18x2_8xb32-100e_in1k.py'

_backbone = dict(type='ResNet', num_stages=4, out_indices=(3, ), style='pytorch', zero_init_residual=False)
_neck = dict(type='GlobalAveragePooling')
_head = dict(type='LinearClsHead', num_classes=1000, loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
model = dict(
    members=[
        dict(backbone=dict(_backbone, depth=18), neck=_neck, head=dict(_head, in_channels=512)),
        dict(backbone=dict(_backbone, depth=50), neck=_neck, head=dict(_head, in_channels=2048)),
    ],
    num_members=None,
)
