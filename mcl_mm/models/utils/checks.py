"""Checks of the values an algorithm or loss is configured with, run when it is built: a value that cannot
train right (a temperature of 0, inf or NaN, a negative weight, a cohort of one) is a
:class:`~mcl_mm.utils.errors.ConfigError` naming the setting, before any step is spent."""
import math
from typing import Dict, Optional

from mcl_mm.utils.errors import ConfigError

KD_STUDENTS = ('all', 'last')


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_temperature(value, name: str, who: str) -> None:
    """A temperature divides the logits: it must be a finite number > 0 (``inf`` would make every contrast
    term constant, so MCL would silently train like independent networks)."""
    if not (_is_real(value) and math.isfinite(value) and value > 0):
        raise ConfigError(f'{who} {name} must be a finite number > 0, got {value!r}; set it in model.loss '
                          '(the paper uses tau=0.1, T=3)')


def check_weight(value, name: str, who: str) -> None:
    """A loss weight: a finite number >= 0 (a negative weight maximises its term)."""
    if not (_is_real(value) and math.isfinite(value) and value >= 0):
        raise ConfigError(f'{who} loss weight {name} must be >= 0 and finite (a negative weight maximises the '
                          f'term), got {value!r}')


def check_cohort_size(num_members: int, who: str = 'MCL') -> None:
    """A ConfigError unless the cohort has at least two members (mutual learning needs a partner)."""
    if num_members < 2:
        raise ConfigError(f'{who} needs a cohort of at least 2 members, got {num_members}; list 2-4 members in '
                          'model.members (or give model.num_members >= 2)')


def checked_objective(loss_weights: Optional[dict], defaults: Dict[str, float], tau: float, kl_temperature: float,
                      who: str) -> Dict[str, float]:
    """``defaults`` updated with ``loss_weights`` after checking the keys (known), the weights
    (:func:`check_weight`) and the temperatures (:func:`check_temperature`)."""
    loss_weights = dict(loss_weights or {})
    unknown = set(loss_weights) - set(defaults)
    if unknown:
        raise KeyError(f'unknown {who} loss_weights keys {sorted(unknown)}; valid keys: {sorted(defaults)}')
    check_temperature(tau, 'tau', who)
    check_temperature(kl_temperature, 'kl_temperature', who)
    for name, value in loss_weights.items():
        check_weight(value, name, who)
    return {**defaults, **loss_weights}


def check_kd_students(students: str) -> None:
    """A ConfigError unless ``kd_students`` is ``'all'`` or ``'last'`` (which members the ensemble logit KD trains)."""
    if students not in KD_STUDENTS:
        raise ConfigError(f"logit KD students must be 'all' or 'last', got {students!r}")
