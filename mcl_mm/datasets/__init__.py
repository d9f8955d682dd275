import mmpretrain.datasets  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)

from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
