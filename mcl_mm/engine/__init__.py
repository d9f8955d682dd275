import mmpretrain.engine  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)

from .atomic_io import AtomicLocalBackend, repair_last_checkpoint  # noqa: F401
from .checkpoint import CheckpointLoadError, allow_full_unpickling, check_resumable, load_checkpoint_file  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .runtime import install_runtime_patches  # noqa: F401
