"""ShuffleNetV2 for 32x32 inputs (the CIFAR-100 variant of the MCL paper's tables)."""
from mmpretrain.models.backbones import ShuffleNetV2
from torch import nn

from mcl_mm.registry import MODELS


@MODELS.register_module()
class CifarShuffleNetV2(ShuffleNetV2):
    """mmpretrain's ShuffleNetV2 with the CIFAR stem: the 3x3 stem conv at stride 1 and no max-pool, so a
    32x32 image reaches the last stage at 4x4 (the ImageNet stem would leave 1x1). Blocks, widths
    (``widen_factor`` 0.5 / 1.0 / 1.5 / 2.0) and the final 1x1 conv to 1024 channels are mmpretrain's.

    Args:
        **kwargs: Arguments of mmpretrain's ``ShuffleNetV2``, with its defaults: ``widen_factor`` (float,
            1.0), ``out_indices`` (Sequence[int], ``(3, )``), ``frozen_stages`` (int, -1), ``conv_cfg``,
            ``norm_cfg``, ``act_cfg``, ``norm_eval`` (bool, False), ``with_cp`` (bool, False) and
            ``init_cfg`` (dict or list[dict], optional, None).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1.conv.stride = (1, 1)
        self.maxpool = nn.Identity()
