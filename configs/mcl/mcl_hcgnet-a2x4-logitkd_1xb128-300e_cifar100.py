# MCL x4 + ensemble logit KD (docs/method.md §2c: teacher detached, T 3, weight 1), HCGNet-A2, CIFAR-100:
# the authors' "MCL (x4) + Logit KD" row. As in their code, at M = 4 only the last member distils from the ensemble.
_base_ = './mcl_hcgnet-a2x4_1xb128-300e_cifar100.py'

model = dict(loss=dict(loss_weights=dict(kd=1.0), kd_students='last'))
