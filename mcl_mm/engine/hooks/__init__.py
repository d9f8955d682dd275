from .cohort_memory_hook import CohortMemoryHook
from .guard_hooks import CohortDataCheckHook, NonFiniteLossHook
from .lmcl_meta_hook import LMCLMetaHook
from .strict_pretrained_hook import PretrainedMismatchError, StrictPretrainedHook

__all__ = [
    'CohortMemoryHook', 'CohortDataCheckHook', 'LMCLMetaHook', 'NonFiniteLossHook', 'PretrainedMismatchError',
    'StrictPretrainedHook'
]
