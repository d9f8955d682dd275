# Faster R-CNN R18-FPN 1x COCO (the authors' baseline setting beside the Mask R-CNN run).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../../_base_/r18_fpn_cohort_member.py']

model = {{_base_.cohort_r18_fpn}}
