from .contrastive import (MCL_TERMS, ensemble_logit_kd, gather_memory_rows, inbatch_contrast_losses, inbatch_terms,
                          kl_div_with_temperature, member_diagonal, member_kl, memory_contrast_losses, memory_relations,
                          memory_terms, multi_positive_nll, pairwise_kl)
from .dml_loss import DMLLoss, deep_mutual_kl
from .layer_contrast import layerwise_contrast_losses
from .lmcl_loss import LayerwiseMCLLoss
from .mcl_loss import MCLLoss
from .moco_contrast import MoCoMCLLoss, moco_contrast_losses, moco_relations, moco_terms

__all__ = [
    'DMLLoss', 'LayerwiseMCLLoss', 'MCL_TERMS', 'MCLLoss', 'MoCoMCLLoss', 'deep_mutual_kl', 'ensemble_logit_kd',
    'gather_memory_rows', 'inbatch_contrast_losses', 'inbatch_terms', 'kl_div_with_temperature',
    'layerwise_contrast_losses', 'member_diagonal', 'member_kl', 'memory_contrast_losses', 'memory_relations',
    'memory_terms', 'moco_contrast_losses', 'moco_relations', 'moco_terms', 'multi_positive_nll', 'pairwise_kl'
]
