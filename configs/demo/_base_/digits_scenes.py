# The demo's detection / segmentation scenes (tools/demo.py generates them): handwritten digits 0-9 from
# scikit-learn's dataset as objects, the same 10 classes as the pretraining image folder.
digit_classes = ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')
seg_classes = ('background', ) + digit_classes
scene_scale = (128, 96)  # (w, h) of the generated scenes
# ResNet-18 at 1/4 width, as the demo cohort members; tools/demo.py sets the checkpoint (or no init_cfg).
demo_backbone = dict(
    depth=18, stem_channels=16, base_channels=16, init_cfg=dict(type='Pretrained', checkpoint=None, prefix=None))
