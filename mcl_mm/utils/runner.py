"""What tools/train.py and tools/test.py share: config loading, command-line checks and runner construction."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mcl_mm.engine.checkpoint import trust_directory
from mcl_mm.engine.hooks.strict_pretrained_hook import PretrainedMismatchError
from mcl_mm.engine.runtime import install_runtime_patches


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser, with a usage error instead of a traceback for an item without ``=``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values or []:
            if '=' not in item:
                parser.error(f'{option_string} takes key=value items (e.g. model.loss.tau=0.1), got {item!r}')
        super().__call__(parser, namespace, values, option_string)


def load_config(path: str, cfg_options=None) -> Config:
    """The config file with ``cfg_options`` merged in.

    ``data_root=NEW`` re-roots the whole config: mmengine evaluates ``data_root + '...'`` while parsing, so
    every dataset / evaluator path derived from the old top-level ``data_root`` is rewritten to start from
    the new one (otherwise the option would change only the top-level variable and the run would silently
    read the old folder).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        old_root = cfg.get('data_root')
        cfg.merge_from_dict(cfg_options)
        new_root = cfg_options.get('data_root')
        if isinstance(old_root, str) and old_root and isinstance(new_root, str) and new_root != old_root:
            for key in cfg.keys():
                if key != 'data_root':
                    cfg[key] = _reroot(cfg[key], old_root.rstrip('/'), new_root.rstrip('/'))
    _check_batch_building_sampler(cfg)
    return cfg


def _check_batch_building_sampler(cfg: Config) -> None:
    """MPerClassSampler composes each batch itself: its batch_size must be the dataloader's, or batches
    straddle its class groups silently."""
    loader = cfg.get('train_dataloader') or {}
    sampler = loader.get('sampler') or {}
    if sampler.get('type') in ('MPerClassSampler', 'mcl_mm.MPerClassSampler') and \
            sampler.get('batch_size') != loader.get('batch_size'):
        from .cli import ToolInputError
        raise ToolInputError(f"train_dataloader.batch_size={loader.get('batch_size')} but its MPerClassSampler builds "
                             f"batches of {sampler.get('batch_size')}; set both (train_dataloader.sampler.batch_size)")


def _reroot(value, old: str, new: str):
    """``value`` with every path string at or under ``old`` moved to ``new`` (dicts / lists / tuples walked)."""
    if isinstance(value, str):
        return new + value[len(old):] if value == old or value.startswith(old + '/') else value
    if isinstance(value, dict):
        for key in list(value.keys()):
            value[key] = _reroot(value[key], old, new)
        return value
    if isinstance(value, list):
        return [_reroot(v, old, new) for v in value]
    if isinstance(value, tuple):
        return tuple(_reroot(v, old, new) for v in value)
    return value


def _cpu_friendly_backend(cfg: Config) -> None:
    """NCCL needs GPUs: a distributed launch without CUDA falls back to gloo (CPU DDP) and says so."""
    import torch
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        print('mcl_mm: no CUDA device, using the gloo backend for distributed training')


def parse_with_launcher(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Add the launcher flags every OpenMMLab train / test tool takes, parse, and export ``LOCAL_RANK`` (torch
    launchers pass ``--local-rank`` or set it themselves)."""
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for, with mcl_mm's checkpoint IO installed; the run's own work_dir is
    trusted for full checkpoint loading."""
    install_runtime_patches()
    trust_directory(cfg.work_dir)
    _cpu_friendly_backend(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def check_work_dir(work_dir: str) -> None:
    from .cli import ToolInputError
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise ToolInputError(f'--work-dir {work_dir} is a file; give a folder (it holds logs and checkpoints)')


def load_weights_strictly(runner: Runner, checkpoint: str) -> None:
    """Load ``checkpoint`` into the runner's model, every weight accounted for: keys missing from the file,
    keys the model does not have and shape mismatches are one error naming the file and the first keys."""
    import re

    from mmengine.model import BaseTTAModel, is_model_wrapper

    from mcl_mm.engine.checkpoint import load_checkpoint_file
    from .cli import ToolInputError
    from .cohort_checkpoint import CohortCheckpointError, strict_load
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if isinstance(model, BaseTTAModel):  # tools/test.py --tta: the weights are the wrapped model's
        model = model.module
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state_dict = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state_dict, dict) or not state_dict:
        raise ToolInputError(f'{checkpoint} holds no weights (no state_dict)')
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    try:
        strict_load(model, state_dict, 'the model this config builds')
    except CohortCheckpointError as err:
        raise ToolInputError(f'{checkpoint} does not fit the config: {err}') from None


def run_loop(runner: Runner, loop: str):
    """``runner.train()`` / ``runner.test()`` (returning what it returns: the model / the metrics), with a
    resume from another config's checkpoint named as such."""
    try:
        return getattr(runner, loop)()
    except PretrainedMismatchError as err:  # a hook's check of the user's file: one line, not a traceback
        raise SystemExit(f'{loop}: {err}') from None
    except ValueError as err:
        if "parameter group that doesn't match" in str(err) or 'parameter group' in str(err):
            raise SystemExit(f'{loop}: the checkpoint being resumed ({runner._load_from}) was written by a run with '
                             'another model or optimizer (its parameter groups do not match this config); resume '
                             'with the config it was trained with') from None
        raise
