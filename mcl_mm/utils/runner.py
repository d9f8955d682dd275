"""What tools/train.py and tools/test.py share: config loading and runner construction."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from mcl_mm.engine.checkpoint import trust_directory


def load_config(path: str, cfg_options=None) -> Config:
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


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


def build_runner(cfg: Config) -> Runner:
    """Build the runner the config asks for; the run's own work_dir is trusted for full checkpoint loading."""
    trust_directory(cfg.work_dir)
    _cpu_friendly_backend(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
