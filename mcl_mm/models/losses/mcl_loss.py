"""Registered, weighted wrapper around the pure MCL loss functions.

The objective of Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual
Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518): alpha * VCL + gamma * Soft VCL + beta * ICL +
lambda * Soft ICL (plus the optional ensemble logit KD), added to the members' CE (docs/method.md §2).
"""
import warnings
from functools import partial
from typing import Dict, Optional, Sequence, Union

from mmengine.model import BaseModule
from torch import Tensor

from mcl_mm.registry import MODELS
from ..compile import MaybeCompiled, check_compile_mode
from ..utils.checks import check_kd_students, checked_objective
from .contrastive import MCL_TERMS, ensemble_logit_kd, inbatch_contrast_losses, memory_contrast_losses

DEFAULT_WEIGHTS = dict(vcl=0.1, icl=0.1, soft_vcl=1.0, soft_icl=1.0, kd=0.0)


def deprecated_temperature_key(extra: dict, kl_temperature: float, owner: str) -> float:
    """``kl_temperature``, or the value of the old key ``temperature`` with a FutureWarning (the softening
    temperature has one name across MCL, L-MCL and DML); any other unknown key is a TypeError, as it was."""
    extra = dict(extra)
    if 'temperature' in extra:
        warnings.warn(
            f"{owner}: 'temperature' is deprecated, use 'kl_temperature' (the same T of the softened "
            'predictions; the old key will be removed in 0.3)', FutureWarning)
        kl_temperature = extra.pop('temperature')
    if extra:
        raise TypeError(f'{owner}.__init__() got unexpected keyword argument(s) {sorted(extra)}')
    return kl_temperature


class ContrastObjective(BaseModule):
    """What MCL's and L-MCL's losses share: the checked term weights, the contrast temperature ``tau``, the
    softening temperature ``kl_temperature`` and the compile mode (``who`` / ``owner`` name them in errors)."""

    def __init__(self, loss_weights: Optional[dict], tau: float, kl_temperature: float, compile: Union[bool, str],
                 who: str, owner: str):
        super().__init__()
        self.loss_weights = checked_objective(loss_weights, DEFAULT_WEIGHTS, tau, kl_temperature, who)
        self.tau, self.kl_temperature = tau, kl_temperature
        self.compile_mode = check_compile_mode(compile, owner)

    @property
    def uses_contrast(self) -> bool:
        return any(self.loss_weights[k] != 0 for k in MCL_TERMS)

    def maybe_compiled(self, terms_fn, what: str) -> MaybeCompiled:
        """``terms_fn`` compiled in its fused gather-dot form where the compile mode says so (Inductor then fuses
        the bank-row gather), the plain form eager (where the bmm form is cheaper)."""
        return MaybeCompiled(partial(terms_fn, fused=True), self.compile_mode, what, eager_fn=terms_fn)


@MODELS.register_module()
class MCLLoss(ContrastObjective):
    """Weights and temperatures of the MCL objective (docs/method.md §2).

    Args:
        loss_weights (dict, optional): Any of ``vcl`` (alpha), ``soft_vcl`` (gamma), ``icl`` (beta),
            ``soft_icl`` (lambda) and ``kd`` (optional ensemble logit KD, §2c). Missing keys take the authors'
            defaults (0.1, 1, 0.1, 1, 0); unknown keys are an error. Defaults to None.
        tau (float): Contrast temperature (0.07 ImageNet, 0.1 CIFAR). Defaults to 0.07.
        kl_temperature (float): T of the soft terms and of logit KD. Defaults to 3.0.
        kd_students (str): Which members logit KD trains: ``'all'`` or ``'last'`` (the authors' x4 runs).
            Defaults to ``'all'``.
        compile (bool or str): Run the contrast terms through :func:`torch.compile` (``True`` / ``False`` /
            ``'auto'``: on CUDA only). Same values as eager (tested); fewer kernels and no materialised
            bank-row gather. Defaults to ``'auto'``.
    """

    def __init__(self,
                 loss_weights: Optional[dict] = None,
                 tau: float = 0.07,
                 kl_temperature: float = 3.0,
                 kd_students: str = 'all',
                 compile: Union[bool, str] = 'auto'):
        super().__init__(loss_weights, tau, kl_temperature, compile, 'MCL', 'MCLLoss')
        check_kd_students(kd_students)
        self.kd_students = kd_students
        self._bank_terms = self.maybe_compiled(memory_contrast_losses, 'MCLLoss (bank path)')
        self._inbatch_terms = MaybeCompiled(inbatch_contrast_losses, compile, 'MCLLoss (in-batch path)')

    def forward(self,
                embeddings: Sequence[Tensor],
                labels: Tensor,
                logits: Optional[Sequence[Tensor]] = None,
                memories: Optional[Sequence[Tensor]] = None,
                pos_idx: Optional[Tensor] = None,
                neg_idx: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Weighted terms keyed ``loss_<term>``; the bank path when ``memories`` is given."""
        losses = {}
        if self.uses_contrast:
            device = embeddings[0].device
            if memories is not None:
                terms = self._bank_terms(
                    embeddings, memories, pos_idx, neg_idx, self.tau, self.kl_temperature, device=device)
            else:
                terms = self._inbatch_terms(embeddings, labels, self.tau, self.kl_temperature, device=device)
            losses = {f'loss_{k}': self.loss_weights[k] * terms[k] for k in MCL_TERMS if self.loss_weights[k] != 0}
        if self.loss_weights['kd'] != 0:
            if logits is None:
                raise ValueError('logit KD is enabled (loss_weights.kd > 0) but no logits were given')
            losses['loss_kd'] = self.loss_weights['kd'] * ensemble_logit_kd(logits, self.kl_temperature,
                                                                            self.kd_students)
        return losses
