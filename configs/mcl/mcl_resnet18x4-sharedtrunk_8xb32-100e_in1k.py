# MCL x4 as the authors ran it: stem + layer1 + layer2 shared, layer3 + layer4 + fc per branch.
_base_ = [
    '../_base_/models/mcl_resnet_in1k.py',
    '../_base_/datasets/imagenet_bs32_mcl.py',
    '../_base_/schedules/imagenet_sgd_nesterov_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(num_members=4, shared_trunk=['conv1', 'bn1', 'layer1', 'layer2'])
