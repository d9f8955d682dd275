from .auxiliary_branches import AuxiliaryBranches, capture_stage_outputs
from .embedding_head import ContrastEmbedHead
from .layer_matching import LayerMatchWeightNet, StageAggregator, pair_weights_from_projections

__all__ = [
    'AuxiliaryBranches', 'ContrastEmbedHead', 'LayerMatchWeightNet', 'StageAggregator', 'capture_stage_outputs',
    'pair_weights_from_projections'
]
