# L-MCL v1, a heterogeneous pair: ShuffleNetV2 1.0x (member 0) & ResNet-50 (member 1), ImageNet-1k, 100 epochs
# (the authors' lmcl_res50_shufflenetv2_1x_imagenet: each net with its own branches, 4 stages each).
_base_ = './lmcl-v1_shufflenetv2-1.0-resnet18_8xb32-100e_in1k.py'

model = dict(members=[{{_base_.shufflenetv2_1x}}, {{_base_.resnet50}}])
