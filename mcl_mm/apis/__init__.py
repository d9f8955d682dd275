"""Entry points: build a runner from a config, read cohort checkpoints, extract / publish a member, resolve the
pretrained file of a downstream config. The tools in ``tools/`` are argument parsing around these."""
from .cohort_checkpoint import Member, load_cohort_checkpoint, open_member
from .export import extract_backbone
from .pretrained import classify_pretrained, resolve_backbone_init
from .publish import load_published_member, publish_member, verify_published_hash
from .runner import build_runner, load_config, run_loop

__all__ = [
    'build_runner', 'load_config', 'run_loop', 'load_cohort_checkpoint', 'open_member', 'Member', 'extract_backbone',
    'publish_member', 'load_published_member', 'verify_published_hash', 'classify_pretrained', 'resolve_backbone_init'
]
