from .lmcl import LMCL
from .mcl import MCL

__all__ = ['LMCL', 'MCL']
