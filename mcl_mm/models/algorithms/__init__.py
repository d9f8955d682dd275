from .cohort import CohortClassifier
from .dml import DML
from .lmcl import LMCL
from .mcl import MCL

__all__ = ['CohortClassifier', 'DML', 'LMCL', 'MCL']
