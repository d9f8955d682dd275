"""Which kind of file a downstream fine-tune is handed, and the init prefix that takes its backbone.

Three kinds are accepted (all loaded weights-only):

* a cohort training checkpoint (``members.<i>.backbone.*``): needs ``member``; prefix ``members.<i>.backbone.``;
* a ``tools/model_converters/publish_model.py`` file (``backbone.*``, maybe ``head.*``): prefix ``backbone.``;
* a ``tools/model_converters/extract_backbone.py`` file (plain backbone keys, ``conv1.weight`` ...): no prefix.

:func:`resolve_backbone_init` also builds the config's backbone and loads the selected weights into it
strictly, so a file whose keys miss or do not match the detector's / segmentor's backbone is an error before
training starts (mmengine's ``Pretrained`` init would only warn and train from random weights).
"""
import importlib
import re
from typing import Optional, Tuple

from mmengine.config import Config

from mcl_mm.engine.checkpoint import load_checkpoint_file
from mcl_mm.utils.cli import ToolInputError
from .cohort_checkpoint import (MEMBER_KEY, CohortCheckpointError, check_member_index, checkpoint_weights, num_members,
                                strict_load)
from .publish import verify_published_hash

COHORT, PUBLISHED, EXTRACTED = 'cohort training checkpoint', 'published member (publish_model)', \
    'exported backbone (extract_backbone)'


def classify_pretrained(path: str, member: Optional[int] = None) -> Tuple[str, Optional[str], dict]:
    """(kind, prefix or None, the state dict) of a file handed to a downstream fine-tune."""
    verify_published_hash(path)
    state_dict = checkpoint_weights(load_checkpoint_file(path, map_location='cpu'), path)
    keys = list(state_dict)
    if any(MEMBER_KEY.match(k) for k in keys):
        if member is None:
            count = num_members(state_dict)
            raise ToolInputError(f'{path} is a {COHORT} of {count} members: choose one with --member I '
                                 f'(0..{count - 1})')
        check_member_index(state_dict, member, path)
        return COHORT, f'members.{member}.backbone.', state_dict
    kind, prefix = (PUBLISHED, 'backbone.') if any(k.startswith('backbone.') for k in keys) else (EXTRACTED, None)
    if member is not None:
        raise ToolInputError(f'--member is for cohort training checkpoints; {path} is a {kind} (one member): '
                             'leave --member out')
    return kind, prefix, state_dict


def resolve_backbone_init(config: str, path: str, member: Optional[int] = None) -> Tuple[str, Optional[str]]:
    """(kind, prefix) for ``model.backbone.init_cfg`` of ``config``, after a strict load of the selected
    weights into the backbone that config builds."""
    kind, prefix, state_dict = classify_pretrained(path, member)
    weights = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)} if prefix else state_dict
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmdet')
    importlib.import_module(f'{scope}.models')
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(scope)
    backbone_cfg = dict(cfg.model.backbone)
    backbone_cfg.pop('init_cfg', None)
    backbone = MODELS.build(backbone_cfg)
    try:
        strict_load(backbone, weights, f"{config}'s backbone ({backbone_cfg.get('type')})")
    except CohortCheckpointError as err:
        raise ToolInputError(f'{path} ({kind}) does not fit: {err}') from None
    return kind, prefix


def shell_quote_free(prefix: Optional[str]) -> str:
    """The prefix as mmengine's --cfg-options reads it (``None`` for no prefix)."""
    if prefix is not None and not re.fullmatch(r'[\w.]+', prefix):
        raise ToolInputError(f'unexpected key prefix {prefix!r}')
    return 'None' if prefix is None else prefix
