from .cifar_resnet import CifarResNet, WideResNet
from .cifar_shufflenet_v2 import CifarShuffleNetV2
from .hcgnet import HCGNet

__all__ = ['CifarResNet', 'CifarShuffleNetV2', 'HCGNet', 'WideResNet']
