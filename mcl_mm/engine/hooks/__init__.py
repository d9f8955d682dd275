from .cohort_memory_hook import CohortMemoryHook
from .guard_hooks import CohortDataCheckHook, NonFiniteLossHook

__all__ = ['CohortMemoryHook', 'CohortDataCheckHook', 'NonFiniteLossHook']
