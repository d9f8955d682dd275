from .cohort_memory_hook import CohortMemoryHook
from .epoch_seed_hook import EpochSeedHook
from .guard_hooks import ChanceLevelHook, CohortDataCheckHook, NonFiniteLossHook
from .lmcl_meta_hook import LMCLMetaHook
from .strict_pretrained_hook import StrictPretrainedHook

__all__ = [
    'ChanceLevelHook', 'CohortMemoryHook', 'CohortDataCheckHook', 'EpochSeedHook', 'LMCLMetaHook', 'NonFiniteLossHook',
    'StrictPretrainedHook'
]
