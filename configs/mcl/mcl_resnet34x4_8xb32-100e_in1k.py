# MCL x4, ResNet-34 members, ImageNet-1k, 100 epochs, 8 GPUs x 32 images.
_base_ = './mcl_resnet34x2_8xb32-100e_in1k.py'

model = dict(num_members=4)
