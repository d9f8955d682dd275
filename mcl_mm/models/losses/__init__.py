from .contrastive import (MCL_TERMS, ensemble_logit_kd, gather_memory_rows, inbatch_contrast_losses,
                          kl_div_with_temperature, member_kl, memory_contrast_losses, multi_positive_nll,
                          pairwise_kl)
from .mcl_loss import MCLLoss

__all__ = [
    'MCL_TERMS', 'MCLLoss', 'ensemble_logit_kd', 'gather_memory_rows', 'inbatch_contrast_losses',
    'kl_div_with_temperature', 'member_kl', 'memory_contrast_losses', 'multi_positive_nll', 'pairwise_kl'
]
