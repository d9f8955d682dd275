# MCL x4 as the authors ran it: stem + layer1 + layer2 shared, layer3 + layer4 + fc per branch.
_base_ = './mcl_resnet18x4_8xb32-100e_in1k.py'

model = dict(shared_trunk=['conv1', 'bn1', 'layer1', 'layer2'])
