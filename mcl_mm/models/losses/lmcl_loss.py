"""Registered, weighted wrapper around the pure layer-wise contrast (:func:`layerwise_contrast_losses`): L-MCL's
loss owns its weights and temperatures, as :class:`MCLLoss` does for MCL (docs/method.md §3)."""
from typing import Dict, Optional, Sequence, Union

from torch import Tensor

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from .contrastive import MCL_TERMS
from .layer_contrast import check_lmcl_mode, layerwise_contrast_losses
from .mcl_loss import ContrastObjective, deprecated_temperature_key


def stage_label(stage: int, num_stages: int) -> str:
    """``s1``, ``s2``, ... for the auxiliary branches (in tap order), ``final`` for the member's own path."""
    return 'final' if stage == num_stages - 1 else f's{stage + 1}'


@MODELS.register_module()
class LayerwiseMCLLoss(ContrastObjective):
    """Weights and temperatures of L-MCL's contrast between the members' stages.

    Args:
        mode (str): ``'v1'`` (same-stage cohorts, terms per stage) or ``'v2'`` (every cross-member stage pair,
            weighted per anchor, summed). Defaults to ``'v1'``.
        loss_weights (dict, optional): ``vcl``, ``soft_vcl``, ``icl``, ``soft_icl`` as in :class:`MCLLoss`
            (missing keys take the authors' defaults); ``kd`` must stay 0 — v2 distils from the aggregated logits
            instead. Defaults to None.
        tau (float): Contrast temperature. Defaults to 0.07.
        kl_temperature (float): T of the soft terms (and of v2's aggregate distillation). Defaults to 3.0.
        compile (bool or str): Compile the ordinary step's contrast (``True`` / ``False`` / ``'auto'``: CUDA
            only); the meta step's second-order pass always runs eager. Defaults to ``'auto'``.
    """

    def __init__(self,
                 mode: str = 'v1',
                 loss_weights: Optional[dict] = None,
                 tau: float = 0.07,
                 kl_temperature: float = 3.0,
                 compile: Union[bool, str] = 'auto',
                 **deprecated):
        kl_temperature = deprecated_temperature_key(deprecated, kl_temperature, 'LayerwiseMCLLoss')
        check_lmcl_mode(mode)
        super().__init__(loss_weights, tau, kl_temperature, compile, 'LMCL', 'LayerwiseMCLLoss')
        if self.loss_weights['kd'] != 0:
            raise ConfigError('LMCL: loss_weights.kd (ensemble logit KD) is not part of L-MCL; v2 distils from '
                              'the aggregated logits, weighted by aggregate_kd_weight')
        self.mode = mode
        self._terms = self.maybe_compiled(layerwise_contrast_losses, 'LMCL contrast')

    def forward(self,
                views: Sequence[Sequence[Tensor]],
                labels: Tensor,
                pair_weights: Optional[Tensor] = None,
                allow_compile: bool = True,
                **bank) -> Dict[str, Tensor]:
        """Weighted terms: ``loss_<term>_<stage>`` per stage (v1) or ``loss_<term>`` summed over pairs (v2).
        ``bank``: ``memories``, ``pos_idx``, ``neg_idx`` for the bank path; ``allow_compile=False`` for a pass
        that is differentiated twice (the meta step)."""
        args = (views, labels, self.mode, self.tau, self.kl_temperature, pair_weights)
        if allow_compile:
            terms = self._terms(*args, **bank, device=labels.device)
        else:
            terms = layerwise_contrast_losses(*args, **bank)
        weights = self.loss_weights
        if self.mode == 'v1':
            return {
                f'loss_{key}_{stage_label(k, len(terms))}': weights[key] * stage_terms[key]
                for k, stage_terms in enumerate(terms)
                for key in MCL_TERMS if weights[key] != 0
            }
        return {f'loss_{key}': weights[key] * terms[key] for key in MCL_TERMS if weights[key] != 0}
