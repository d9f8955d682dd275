"""Optional :func:`torch.compile` of the pure loss-path functions (bank sampling, contrast terms, bank update).

On a GPU the MCL path is launch-bound (hundreds of small kernels per step) and its bank gather is
bandwidth-bound; compiled, Inductor fuses the small ops and folds the row gather into the scores
(see ``memory_relations(fused=True)``). On a CPU the gain is smaller and each new input shape costs a
compile of tens of seconds, so ``'auto'`` compiles for CUDA inputs only.
"""
import warnings
from typing import Callable, Optional, Union

import torch

from mcl_mm.utils.errors import ConfigError

CompileMode = Union[bool, str]


def check_compile_mode(mode: CompileMode, owner: str) -> CompileMode:
    """``mode`` if it is ``True``, ``False`` or ``'auto'``; a ConfigError naming ``owner`` otherwise."""
    if mode not in (True, False, 'auto'):
        raise ConfigError(f"{owner}: compile must be True, False or 'auto' (compile on CUDA only), got {mode!r}")
    return mode


class MaybeCompiled:
    """``fn`` compiled with :func:`torch.compile` where ``mode`` says so, eager otherwise.

    Args:
        fn: a pure function of tensors (no Python side effects besides in-place writes to its arguments).
        mode: ``True`` (always), ``False`` (never), ``'auto'`` (when the ``device`` passed at call time is CUDA).
        name: for the warning below.
        eager_fn: what runs when not compiled, if not ``fn`` itself: the same values in a form that is
            cheaper uncompiled (e.g. a matmul over materialised rows instead of a gather-dot).

    A compile failure (no C++ compiler or Triton, an op Inductor cannot lower) warns once and the function
    runs eagerly for the rest of the process: the values are the same, only slower.
    """

    def __init__(self, fn: Callable, mode: CompileMode, name: str, eager_fn: Optional[Callable] = None):
        self.fn = fn
        self.eager_fn = eager_fn or fn
        self.mode = check_compile_mode(mode, name)
        self.name = name
        self._compiled = None
        self.failed = False

    def enabled(self, device: torch.device) -> bool:
        if self.failed or self.mode is False:
            return False
        return self.mode is True or torch.device(device).type == 'cuda'

    def __call__(self, *args, device: torch.device, **kwargs):
        if self.enabled(device):
            if self._compiled is None:
                self._compiled = torch.compile(self.fn)
            try:
                with warnings.catch_warnings():
                    # Dynamo inspects the .grad of non-leaf inputs while tracing; under warnings-as-errors
                    # (pytest -W error, python -W error) that warning would abort the compile.
                    warnings.filterwarnings('ignore', message='The .grad attribute of a Tensor that is not a leaf')
                    return self._compiled(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 — any compile failure falls back to identical eager math
                self.failed = True
                warnings.warn(f'{self.name}: torch.compile failed ({type(err).__name__}: '
                              f'{str(err).splitlines()[0] if str(err) else ""}); running it eagerly instead')
        return self.eager_fn(*args, **kwargs)

    def __deepcopy__(self, memo):
        # A copied module (EMA, model copies) gets its own wrapper; compiled code is not copied.
        return MaybeCompiled(self.fn, self.mode, self.name, self.eager_fn)


def compile_failures(module: torch.nn.Module) -> list:
    """Names of the :class:`MaybeCompiled` functions in ``module``'s tree that fell back to eager."""
    return [fn.name for m in module.modules() for fn in vars(m).values() if isinstance(fn, MaybeCompiled) and fn.failed]
