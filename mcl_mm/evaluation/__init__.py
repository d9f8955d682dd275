import mmpretrain.evaluation  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)

from .cohort_accuracy import CohortAccuracy

__all__ = ['CohortAccuracy']
