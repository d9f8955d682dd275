# L-MCL v1 on CIFAR nets (docs/method.md §3): branches after layer1 and layer2, each a full fresh copy of the
# remaining stages; stage-wise in-batch contrast between members (s1, s2, final).
_base_ = ['./mcl_cifar_resnet.py']

model = dict(
    type='LMCL',
    mode='v1',
    branches=dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2'), depth='full'),
)
