# MCL x4 + ensemble logit KD (docs/method.md §2c, teacher detached), ResNet-18, ImageNet-1k.
_base_ = './mcl_resnet18x4_8xb32-100e_in1k.py'

# As in the authors' code, at M = 4 only the last member distils from the ensemble.
model = dict(loss=dict(loss_weights=dict(kd=1.0), kd_students='last'))
