# L-MCL v1 on the demo digits: the demo MCL cohort plus auxiliary branches after layer1..3 (one block of each
# remaining stage), stage-wise contrast against the banks.
_base_ = ['./mcl_resnet18w16x2_1xb32-15e_digits.py']
model = dict(
    type='LMCL',
    mode='v1',
    branches=dict(
        stages=('layer1', 'layer2', 'layer3', 'layer4'), taps=('layer1', 'layer2', 'layer3'), depth='first_block'),
)
