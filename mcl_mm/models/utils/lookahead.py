"""Differentiable look-ahead of torch's SGD, for the L-MCL meta step (docs/method.md §3).

The look-ahead never writes to a parameter, a buffer or the optimizer: it returns new tensors, so
"rolling back" is simply dropping them, and gradients flow through every step (second order).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor


def sgd_hyperparams(optimizer: torch.optim.Optimizer, params: Sequence[Tensor]) -> Tuple[List[dict], List]:
    """Each parameter's SGD settings and momentum buffer, read from ``optimizer`` (which is not modified).

    Raises if a parameter is not in the optimizer or the optimizer is not SGD-shaped.
    """
    group_of = {}
    for group in optimizer.param_groups:
        missing = {'lr', 'momentum', 'weight_decay'} - set(group)
        if missing:
            raise TypeError(f'L-MCL meta step: the look-ahead mirrors SGD, but the network optimizer '
                            f'{type(optimizer).__name__} has no {sorted(missing)}; use SGD for L-MCL v2')
        for p in group['params']:
            group_of[id(p)] = group
    settings, buffers = [], []
    for p in params:
        group = group_of.get(id(p))
        if group is None:
            raise ValueError('L-MCL meta step: a network parameter is not in the network optimizer')
        settings.append(
            dict(
                lr=group['lr'],
                momentum=group['momentum'],
                weight_decay=group['weight_decay'],
                dampening=group.get('dampening', 0),
                nesterov=group.get('nesterov', False)))
        buffers.append(optimizer.state.get(p, {}).get('momentum_buffer'))
    return settings, buffers


def sgd_lookahead_step(params: Sequence[Tensor], grads: Sequence[Optional[Tensor]], buffers: Sequence[Optional[Tensor]],
                       settings: Sequence[dict]) -> Tuple[List[Tensor], List[Optional[Tensor]]]:
    """One step of ``torch.optim.SGD`` written out of place, so it is differentiable in params and grads.

    A parameter without a gradient is left as it is (torch's SGD skips it too).
    """
    new_params, new_buffers = [], []
    for p, g, buf, s in zip(params, grads, buffers, settings):
        if g is None:
            new_params.append(p)
            new_buffers.append(buf)
            continue
        d = g + s['weight_decay'] * p if s['weight_decay'] else g
        if s['momentum']:
            buf = d if buf is None else s['momentum'] * buf + (1 - s['dampening']) * d
            d = d + s['momentum'] * buf if s['nesterov'] else buf
        new_params.append(p - s['lr'] * d)
        new_buffers.append(buf)
    return new_params, new_buffers
