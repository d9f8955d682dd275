# Faster R-CNN R18-FPN on Pascal VOC: trained on VOC2007+2012 trainval (x3 repeat, 4 epochs = 12),
# evaluated on VOC2007 test (11-point mAP @ IoU 0.5, mmdet's VOCMetric).
_base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', '../../_base_/r18_fpn_cohort_member.py']

model = {{_base_.cohort_r18_fpn}}
