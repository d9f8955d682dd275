"""Entry points: build a runner from a config, read cohort checkpoints, extract / publish a member, resolve the
pretrained file of a downstream config. The tools in ``tools/`` are argument parsing around these."""
from .cohort_checkpoint import load_cohort_checkpoint
from .export import extract_backbone
from .pretrained import classify_pretrained, resolve_backbone_init
from .publish import publish_member
from .runner import build_runner, load_config, run_loop

__all__ = [
    'build_runner', 'load_config', 'run_loop', 'load_cohort_checkpoint', 'extract_backbone', 'publish_member',
    'classify_pretrained', 'resolve_backbone_init'
]
