from .cohort_memory_hook import CohortMemoryHook

__all__ = ['CohortMemoryHook']
