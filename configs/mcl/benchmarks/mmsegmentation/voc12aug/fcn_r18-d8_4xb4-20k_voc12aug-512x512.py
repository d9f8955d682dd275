# FCN on Pascal VOC 2012 + SBD aug (10582 train, 1449 val), 20k iterations, R18-D8 from an MCL cohort member.
# Stock mmseg recipe (SyncBN, SGD 0.01, poly); torchvision-style ResNet as in mmseg's r18b configs.
_base_ = [
    'mmseg::fcn/fcn_r50-d8_4xb4-20k_voc12aug-512x512.py',
    '../_base_/r18_d8_cohort_member.py',
]
model = {{_base_.cohort_r18_d8_model}}
