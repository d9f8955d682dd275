from .lookahead import sgd_hyperparams, sgd_lookahead_step
from .pairs import View, cross_member_pairs

__all__ = ['View', 'cross_member_pairs', 'sgd_hyperparams', 'sgd_lookahead_step']
