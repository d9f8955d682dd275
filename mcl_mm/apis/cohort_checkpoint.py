"""Reading cohort training checkpoints: members, their configs and weights (export / publish / transfer)."""
import copy
import dataclasses
import io
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from torch import nn

from mcl_mm.engine.atomic_io import atomic_write_bytes
from mcl_mm.engine.checkpoint import load_checkpoint_file
from mcl_mm.utils.errors import CohortCheckpointError, UnsafeConfigError
from mcl_mm.utils.safe_config import config_from_data_text

MEMBER_KEY = re.compile(r'^members\.(\d{1,4})\.')  # 4 digits: no cohort is larger; int() of any length is not safe


def checkpoint_weights(ckpt, path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint (``ckpt['state_dict']``, or ``ckpt`` itself when it is the weights),
    checked to be what every loader here reads: a non-empty mapping of string names to tensors.

    Raises:
        CohortCheckpointError: anything else, named with the file and the first offending entry.
    """
    state_dict = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state_dict, dict) or not state_dict:
        raise CohortCheckpointError(f'{path} holds no weights (no state_dict of named tensors, it holds a '
                                    f'{type(state_dict if isinstance(ckpt, dict) else ckpt).__name__})')
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise CohortCheckpointError(f'{path}: its state_dict has a key of type {type(key).__name__} '
                                        f'({short_repr(key)}); weights are named by strings. The file was altered or '
                                        'was not written by PyTorch: use the checkpoint as its run wrote it')
        if not torch.is_tensor(value):
            raise CohortCheckpointError(f'{path}: state_dict[{short_repr(key)}] is a {type(value).__name__}, not a '
                                        'tensor. The file was altered or was not written by PyTorch: use the '
                                        'checkpoint as its run wrote it')
    return state_dict


def short_repr(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about values read from a file."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit
        return f'<a {type(value).__name__} too large to print>'
    return text if len(text) <= limit else text[:limit] + '...'


def load_cohort_checkpoint(path: str,
                           config: Optional[str] = None) -> Tuple[Dict[str, torch.Tensor], dict, Optional[Config]]:
    """(state_dict, meta, training config or None) of an MCL cohort checkpoint written by tools/train.py.

    The training config is ``config`` (a file the user names) if given, else the checkpoint's ``meta.cfg``
    read as data, never executed (:func:`config_from_data_text`).
    """
    ckpt = load_checkpoint_file(path, map_location='cpu')
    state_dict = checkpoint_weights(ckpt, path)
    if not any(MEMBER_KEY.match(k) for k in state_dict):
        sample = ', '.join(short_repr(k, 40) for k in list(state_dict)[:3])
        raise CohortCheckpointError(
            f'{path} is not an MCL cohort checkpoint: it has no "members.<i>." weights (it starts with: {sample}). '
            'Pass a checkpoint written by tools/train.py with an MCL config.')
    meta = ckpt.get('meta') if state_dict is not ckpt else None
    meta = {} if meta is None else meta
    if not isinstance(meta, dict):
        raise CohortCheckpointError(f'{path}: its meta is a {type(meta).__name__}, not the dict tools/train.py '
                                    'writes; the file was altered. Use the checkpoint as the run wrote it.')
    cfg = None
    if config is not None:
        if not osp.isfile(config):
            raise CohortCheckpointError(f'--config {config}: no such file')
        cfg = Config.fromfile(config)
    elif meta.get('cfg') is not None:
        try:
            cfg = config_from_data_text(meta['cfg'], f'the config stored in {path} (meta.cfg)')
        except UnsafeConfigError as err:
            raise CohortCheckpointError(str(err)) from None
    if cfg is not None:
        _check_cohort_model_config(cfg, path if config is None else config)
    return state_dict, meta, cfg


@dataclasses.dataclass
class Member:
    """One member of a cohort checkpoint, opened by :func:`open_member`."""
    path: str
    index: int
    num_members: int
    state_dict: Dict[str, torch.Tensor]  # the whole cohort's weights
    meta: dict  # the checkpoint's meta (epoch, experiment_name, dataset_meta, ...)
    cfg: Config  # the training config: --config, else the checkpoint's meta.cfg read as data
    model_cfg: dict  # this member's classifier config (backbone / neck / head)

    def weights(self, part: str = 'backbone') -> 'OrderedDict[str, torch.Tensor]':
        return member_weights(self.state_dict, self.index, part)


def open_member(path: str, member: int, config: Optional[str] = None) -> Member:
    """Open member ``member`` of the cohort checkpoint ``path`` the one way export and publish do: the weights
    checked (names, tensors, finite values), the member index checked against the checkpoint and its config, and
    the training config required — without it the member's architecture cannot be verified.

    Args:
        path: a cohort training checkpoint written by tools/train.py.
        member: the member's 0-based index.
        config: a training config file to use instead of the one stored in the checkpoint.

    Raises:
        CohortCheckpointError / CheckpointLoadError: one line naming the file and what is wrong with it.
    """
    state_dict, meta, cfg = load_cohort_checkpoint(path, config)
    count = check_member_index(state_dict, member, path)
    if cfg is None:
        raise CohortCheckpointError(f'{path} carries no training config (meta.cfg), so the member architecture '
                                    'cannot be verified; pass the training config with --config CONFIG')
    members = cfg.model['members']
    if isinstance(members, (list, tuple)) and len(members) != count:
        raise CohortCheckpointError(f'the training config of {path} lists {len(members)} members, the checkpoint '
                                    f'holds {count}: pass the config the cohort was trained with (--config CONFIG)')
    check_finite(state_dict, path, prefix=f'members.{member}.')
    member_cfg = members[member] if isinstance(members, (list, tuple)) else members
    return Member(path, member, count, state_dict, meta, cfg, copy.deepcopy(dict(member_cfg)))


def _check_cohort_model_config(cfg: Config, source: str) -> None:
    """The parts of the training config export and publish read: ``model.members`` (a dict, or a list of
    dicts) whose members have a ``backbone`` dict."""
    model = cfg.get('model')
    members = model.get('members') if isinstance(model, dict) else None
    member_list = members if isinstance(members, (list, tuple)) else [members]
    if not all(isinstance(m, dict) and isinstance(m.get('backbone'), dict) for m in member_list):
        raise CohortCheckpointError(f'the config of {source} has no usable model.members (a dict, or a list of '
                                    'dicts each with a backbone dict); pass the training config with --config CONFIG')


def check_finite(weights: Dict[str, torch.Tensor], path: str, prefix: str = '') -> None:
    """Refuse NaN / Inf weights (those under ``prefix``): a diverged run's member is not a model to export."""
    for key, value in weights.items():
        if key.startswith(prefix) and torch.is_tensor(value) and value.is_floating_point() and not bool(
                torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise CohortCheckpointError(f'{path}: {key} holds {bad} NaN/Inf value(s) of {value.numel()}; the run '
                                        'diverged before this checkpoint. Export an earlier checkpoint.')


def check_output_paths(outputs: Sequence[str], inputs: Sequence[str], force: bool = False) -> None:
    """Refuse outputs that are (or resolve to) an input, folders, or files under a non-folder; refuse to
    replace an existing file unless ``force``."""
    for out in outputs:
        real = osp.realpath(out)
        for src in inputs:
            if real == osp.realpath(src) or (osp.exists(out) and osp.exists(src) and osp.samefile(out, src)):
                raise CohortCheckpointError(f'the output {out} is the input {src}: writing it would destroy the '
                                            'input. Choose another output path.')
        if osp.isdir(out):
            raise CohortCheckpointError(f'the output {out} is a folder: give a file path')
        parent = osp.dirname(osp.abspath(out))
        while parent and not osp.exists(parent):
            parent = osp.dirname(parent)
        if parent and not osp.isdir(parent):
            raise CohortCheckpointError(f'the output {out} cannot be created: {parent} is a file, not a folder')
        if osp.lexists(out) and not force:
            raise CohortCheckpointError(f'the output {out} exists; pass --force to overwrite it')


def check_member_index(state_dict: Dict[str, torch.Tensor], member, path: str) -> int:
    """The cohort size of ``state_dict``, after checking that ``member`` is one of its members' indices."""
    count = num_members(state_dict)
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < count:
        raise CohortCheckpointError(f'--member {member} is out of range: {path} holds a cohort of {count} members '
                                    f'(valid: 0..{count - 1})')
    return count


def num_members(state_dict: Dict[str, torch.Tensor]) -> int:
    """How many members a cohort state dict holds (one more than the highest ``members.<i>.`` index)."""
    return 1 + max(int(m.group(1)) for m in map(MEMBER_KEY.match, state_dict) if m)


def member_weights(state_dict, member: int, part: str = 'backbone') -> 'OrderedDict[str, torch.Tensor]':
    """The member's ``part`` (``backbone`` / ``head`` / ``''`` for the whole classifier), prefix removed."""
    prefix = f'members.{member}.' + (f'{part}.' if part else '')
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items() if k.startswith(prefix))


def strict_load(module: nn.Module, state_dict, what: str) -> None:
    """Load strictly or raise one error listing missing / unexpected / mis-shaped keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    mis_shaped = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or mis_shaped:

        def show(keys):
            return ', '.join(keys[:6]) + (f' ... (+{len(keys) - 6})' if len(keys) > 6 else '') if keys else 'none'

        raise CohortCheckpointError(
            f'the weights do not load strictly into {what}: missing keys: {show(missing)}; unexpected keys: '
            f'{show(unexpected)}; shape mismatches: {show(mis_shaped)}. Check the architecture (--member, depth, '
            'widths) against the checkpoint.')
    module.load_state_dict(state_dict, strict=True)


def serialize(obj) -> bytes:
    """``obj`` as the bytes ``torch.save`` writes (hashed and written atomically by publish)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_save(obj, path: str) -> None:
    """torch.save through the project's atomic writer (temp file + fsync + rename): no half-written outputs."""
    atomic_write_bytes(serialize(obj), path)
