import mmpretrain.models  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)

from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .memories import *  # noqa: F401,F403
from .tta import AverageCohortScoreTTA  # noqa: F401
from .wrappers import CPUDistributedDataParallel  # noqa: F401
