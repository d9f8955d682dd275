from .cifar_resnet import CifarResNet, WideResNet

__all__ = ['CifarResNet', 'WideResNet']
