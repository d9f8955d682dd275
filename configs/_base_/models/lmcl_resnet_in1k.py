# L-MCL v1 on ImageNet ResNets (docs/method.md §3): branches after layer1, layer2, layer3, one block of each
# remaining stage; stage-wise contrast against the memory banks (only final-stage embeddings update them).
_base_ = ['./mcl_resnet_in1k.py']

model = dict(
    type='LMCL',
    mode='v1',
    branches=dict(
        stages=('layer1', 'layer2', 'layer3', 'layer4'), taps=('layer1', 'layer2', 'layer3'), depth='first_block'),
)
