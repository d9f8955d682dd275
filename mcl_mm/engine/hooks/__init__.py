from .cohort_memory_hook import CohortMemoryHook
from .guard_hooks import CohortDataCheckHook, NonFiniteLossHook
from .lmcl_meta_hook import LMCLMetaHook

__all__ = ['CohortMemoryHook', 'CohortDataCheckHook', 'LMCLMetaHook', 'NonFiniteLossHook']
