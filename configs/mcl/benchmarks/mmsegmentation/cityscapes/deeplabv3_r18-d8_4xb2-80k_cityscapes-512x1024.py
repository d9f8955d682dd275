# DeepLabV3 on Cityscapes, 80k iterations, R18-D8 from an MCL cohort member.
# Stock mmseg recipe (SyncBN, SGD 0.01, poly); torchvision-style ResNet as in mmseg's r18b configs.
_base_ = [
    'mmseg::deeplabv3/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/r18_d8_cohort_member.py',
]
model = {{_base_.cohort_r18_d8_model}}
