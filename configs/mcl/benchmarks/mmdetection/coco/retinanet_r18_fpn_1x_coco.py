# RetinaNet R18-FPN 1x COCO (stock mmdet r18 recipe: SGD 0.01 / 16 images).
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', '../../_base_/r18_fpn_cohort_member.py']

# depth 18 and the FPN input widths are the stock r18 recipe's already; the cohort member sets init_cfg.
model = {{_base_.cohort_r18_fpn}}
