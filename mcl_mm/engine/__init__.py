import mmpretrain.engine  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)
from .atomic_io import AtomicLocalBackend, repair_last_checkpoint
from .checkpoint import CheckpointLoadError, load_checkpoint_file, trust_directory
from .hooks import *  # noqa: F401,F403
