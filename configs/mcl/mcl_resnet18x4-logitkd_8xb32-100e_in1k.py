# MCL x4 + ensemble logit KD (docs/method.md §2c, teacher detached), ResNet-18, ImageNet-1k.
_base_ = [
    '../_base_/models/mcl_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

# As in the authors' code, at M = 4 only the last member distils from the ensemble.
model = dict(num_members=4, loss=dict(loss_weights=dict(kd=1.0), kd_students='last'))
