# The authors' transfer setting (docs/method.md §5): Mask R-CNN R18-FPN, 1x, COCO 2017, frozen_stages=1,
# BN requires_grad with norm_eval (stock mmdet), SGD 0.02 / 16 images, warm-up 500 it, steps at 8 and 11.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../../_base_/r18_fpn_cohort_member.py']

model = {{_base_.cohort_r18_fpn}}
