from .cohort_memory import CohortMemoryBank

__all__ = ['CohortMemoryBank']
