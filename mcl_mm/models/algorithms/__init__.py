from .cohort import CohortClassifier
from .dml import DML
from .lmcl import LMCL
from .mcl import MCL
from .moco_mcl import MoCoMCL

__all__ = ['CohortClassifier', 'DML', 'LMCL', 'MCL', 'MoCoMCL']
