"""What tools/train.py and tools/test.py share: config loading, command-line checks and runner construction."""
import argparse
import contextlib
import errno
import fcntl
import os
import os.path as osp
import re
import warnings

from mmengine.config import Config
from mmengine.runner import Runner

from mcl_mm.engine.checkpoint import allow_full_unpickling, load_checkpoint_file
from mcl_mm.engine.runtime import install_runtime_patches
from mcl_mm.utils.arguments import CommaList
from mcl_mm.utils.cli import disk_error_message, error_line
from mcl_mm.utils.errors import USER_ERRORS, CohortCheckpointError, ConfigError, ToolInputError, WorkDirBusyError
from .cohort_checkpoint import checkpoint_weights, strict_load


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
        cfg_options = {key: _string_where_the_config_has_one(cfg, key, value) for key, value in cfg_options.items()}
        old_root = cfg.get('data_root')
        cfg.merge_from_dict(cfg_options)
        new_root = cfg_options.get('data_root')
        if isinstance(old_root, str) and old_root and isinstance(new_root, str) and new_root != old_root:
            for key in cfg.keys():
                if key != 'data_root':
                    cfg[key] = _reroot(cfg[key], old_root.rstrip('/'), new_root.rstrip('/'))
    _check_batch_building_sampler(cfg)
    return cfg


def _string_where_the_config_has_one(cfg: Config, key: str, value):
    """``value``, or the text it was parsed from when it is an unbracketed comma list and the config holds a string
    at ``key`` (a path with a comma: mmengine would make it a list and train on the config's old path)."""
    if not isinstance(value, CommaList):
        return value
    node = cfg.to_dict()
    for part in key.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return list(value)
    return value.text if isinstance(node, str) else list(value)  # a plain list: mmengine rebuilds lists by type


def check_pretrained_files(cfg: Config) -> None:
    """Every ``Pretrained`` init of the model names a file that exists (URLs and ``scheme://`` paths are left to
    mmengine), checked before any data is read: a fine-tune config run without its pretrained file is one line
    instead of a TypeError from deep inside the weight init."""

    def walk(node, path):
        if isinstance(node, dict):
            if path.endswith('init_cfg') and node.get('type') == 'Pretrained':
                yield path, node.get('checkpoint')
            for key, value in node.items():
                yield from walk(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                yield from walk(value, f'{path}.{i}' if not path.endswith('init_cfg') else path)

    for path, checkpoint in walk(cfg.get('model') or {}, 'model'):
        if isinstance(checkpoint, str) and ('://' in checkpoint or osp.isfile(checkpoint)):
            continue
        what = 'is not set' if checkpoint is None else f'{checkpoint!r} is not a file'
        raise ToolInputError(f'{path}.checkpoint {what}: this config initialises from a pretrained file. Pass it '
                             f'with --cfg-options {path}.checkpoint=FILE (tools/benchmarks/*/dist_train.sh CONFIG '
                             f'PRETRAIN GPUS does), or {path}=None to start from random weights')


def _check_batch_building_sampler(cfg: Config) -> None:
    """MPerClassSampler composes each batch itself: its batch_size must be the dataloader's, or batches
    straddle its class groups silently."""
    loader = cfg.get('train_dataloader') or {}
    sampler = loader.get('sampler') or {}
    if sampler.get('type') in ('MPerClassSampler', 'mcl_mm.MPerClassSampler') and \
            sampler.get('batch_size') != loader.get('batch_size'):
        raise ConfigError(f"train_dataloader.batch_size={loader.get('batch_size')} but its MPerClassSampler builds "
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


@contextlib.contextmanager
def _no_cuda_device_selection():
    """mmengine's ``init_dist`` selects the rank's CUDA device whatever the backend; a host without CUDA has none
    to select (``Found no NVIDIA driver``), and gloo needs none."""
    import torch
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device


def _init_cpu_distributed(cfg: Config) -> None:
    """A distributed launch on a host without CUDA: gloo instead of NCCL, DDP without device ids (mmengine passes
    the local rank as a CUDA device id), and the process group initialised here by mmengine's ``init_dist`` with
    the device selection left out. The runner then finds the group initialised and uses it."""
    import torch
    from mmengine.dist import init_dist, is_distributed
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
        print('mcl_mm: no CUDA device, using the gloo backend for distributed training')
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type',
                   'MMDistributedDataParallel') in ('MMDistributedDataParallel', 'mmengine.MMDistributedDataParallel'):
        import mcl_mm.models.wrappers  # noqa: F401 (registers it where the runner looks: any config, mmdet's too)
        cfg.model_wrapper_cfg = dict(
            dict(broadcast_buffers=False, find_unused_parameters=cfg.get('find_unused_parameters', False)),
            **wrapper,
            type='CPUDistributedDataParallel')
    if not is_distributed():
        with _no_cuda_device_selection():
            init_dist(cfg.launcher, **dist_cfg)


def build_runner(cfg: Config, allow_pickle: bool = False) -> Runner:
    """Build the runner the config asks for, with mcl_mm's checkpoint IO installed. Checkpoints load
    weights-only; ``allow_pickle`` (the tools' ``--unsafe-allow-pickle``) lets a file the user trusts be
    unpickled in full."""
    install_runtime_patches()
    allow_full_unpickling(allow_pickle)
    _init_cpu_distributed(cfg)
    _add_epoch_seed_hook(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def _add_epoch_seed_hook(cfg: Config) -> None:
    """Every run built here reseeds per epoch (:class:`~mcl_mm.engine.hooks.EpochSeedHook`), so a resumed run
    draws what the uninterrupted one would."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).endswith('EpochSeedHook') for h in hooks if isinstance(h, dict)):
        cfg.custom_hooks = hooks + [dict(type='EpochSeedHook')]


def check_work_dir(work_dir: str) -> None:
    """The work dir is a folder (or can be made) and is writable, checked before any work is spent."""
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        raise ToolInputError(f'--work-dir {work_dir} is a file; give a folder (it holds logs and checkpoints)')
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as err:
        raise ToolInputError(f'--work-dir {work_dir} cannot be created ({err.strerror}); give a writable folder') \
            from None
    if not os.access(work_dir, os.W_OK | os.X_OK):
        raise ToolInputError(f'--work-dir {work_dir} is not writable; give a writable folder')


def _launch_rank(launcher: str) -> int:
    """This process's global rank as the launchers set it, before mmengine initialises distributed (0 without a
    launcher: `srun -n2 tools/train.py` with --launcher none is two independent runs)."""
    if launcher == 'none':
        return 0
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


_WORK_DIR_LOCKS = {}


def _close_inherited_locks() -> None:
    """In a forked child (a DataLoader worker): close the lock files, so that a child outliving a killed run
    does not keep its work_dir locked (closing here leaves the parent's lock in place)."""
    for handle in _WORK_DIR_LOCKS.values():
        handle.close()
    _WORK_DIR_LOCKS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


def lock_work_dir(work_dir: str, launcher: str = 'none') -> None:
    """Hold ``work_dir/.lock`` for the life of this process (rank 0 of a job): a second training run started on
    the same folder would overwrite this run's checkpoints and interleave its logs, so it is refused. The OS
    releases the lock when the process ends, however it ends. A file system without ``flock`` runs unlocked,
    with a warning."""
    if _launch_rank(launcher) != 0 or osp.realpath(work_dir) in _WORK_DIR_LOCKS:
        return
    handle = open(osp.join(work_dir, '.lock'), 'a+')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or 'another process'
        handle.close()
        raise WorkDirBusyError(f'--work-dir {work_dir} is in use by a running training job ({owner}); wait for it '
                               'to end or give another --work-dir') from None
    except OSError as err:
        handle.close()
        if err.errno not in (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP):
            raise
        warnings.warn(f'{work_dir}: the file system does not support locks ({err.strerror}); two runs started on '
                      'this work dir would not be stopped from overwriting each other')
        return
    handle.seek(0)
    handle.truncate()
    handle.write(f'pid {os.getpid()}')
    handle.flush()
    _WORK_DIR_LOCKS[osp.realpath(work_dir)] = handle


def load_weights_strictly(runner: Runner, checkpoint: str) -> None:
    """Load ``checkpoint`` into the runner's model, every weight accounted for: keys missing from the file,
    keys the model does not have and shape mismatches are one error naming the file and the first keys."""
    from mmengine.model import BaseTTAModel, is_model_wrapper
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if isinstance(model, BaseTTAModel):  # tools/test.py --tta: the weights are the wrapped model's
        model = model.module
    state_dict = checkpoint_weights(load_checkpoint_file(checkpoint, map_location='cpu'), checkpoint)
    state_dict = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    try:
        strict_load(model, state_dict, 'the model this config builds')
    except CohortCheckpointError as err:
        raise ToolInputError(f'{checkpoint} does not fit the config: {err}') from None


def check_test_classes(runner: Runner, checkpoint: str) -> None:
    """The test set's classes are the ones the checkpoint was trained on, in the same order (its
    ``meta.dataset_meta.classes``, which mmengine stores): otherwise every prediction is scored against another
    label. A checkpoint that records no classes is not checked."""
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu', mmap=True)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    trained = dataset_meta.get('classes') if isinstance(dataset_meta, dict) else None
    if not isinstance(trained, (list, tuple)):
        return
    tested = (getattr(runner.test_dataloader.dataset, 'metainfo', None) or {}).get('classes')
    if tested is None or [str(c) for c in trained] == [str(c) for c in tested]:
        return
    trained, tested = [str(c) for c in trained], [str(c) for c in tested]
    how = 'in another order' if sorted(trained) == sorted(tested) else (
        f'{len(trained)} classes against {len(tested)}' if len(trained) != len(tested) else 'other names')
    first = next((i for i, (a, b) in enumerate(zip(trained, tested)) if a != b), min(len(trained), len(tested)))
    raise ToolInputError(
        f'{checkpoint} was trained on other classes than this test set has ({how}; first difference at '
        f'class {first}: {trained[first] if first < len(trained) else None!r} vs '
        f'{tested[first] if first < len(tested) else None!r}): every prediction would be scored '
        'against another label. Test on data with the classes of training, in the same order')


def run_loop(runner: Runner, loop: str):
    """``runner.train()`` / ``runner.test()`` (returning what it returns: the model / the metrics). Bad input
    found on the way (a hook's check, the data, a resume from another config's checkpoint) ends in one line."""
    try:
        return getattr(runner, loop)()
    except USER_ERRORS as err:
        raise SystemExit(f'{loop}: {error_line(err)}') from None
    except OSError as err:
        if disk_error_message(err) is None:
            raise
        raise SystemExit(f'{loop}: {disk_error_message(err)} (the checkpoints written before are complete)') from None
    except ValueError as err:
        if 'parameter group' in str(err):
            raise SystemExit(f'{loop}: the checkpoint being resumed ({runner._load_from}) was written by a run with '
                             'another model or optimizer (its parameter groups do not match this config); resume '
                             'with the config it was trained with') from None
        raise


def merge_train_args(cfg: Config, args: argparse.Namespace, config: str) -> Config:
    """Fold the command-line flags into the config, as mmpretrain / mmdet tools do."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise ToolInputError('--amp (mixed precision) needs a CUDA GPU, and this process sees none (check '
                                 'CUDA_VISIBLE_DEVICES); leave --amp out to train in full precision')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        else:
            if optim_wrapper != 'OptimWrapper':
                raise ValueError(f'--amp supports OptimWrapper configs, this one uses {optim_wrapper}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume is not None:  # 'auto' finds its checkpoint in main(), once this run holds the work dir
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True

    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader) is None:
            continue
        if args.no_pin_memory:
            cfg[loader]['pin_memory'] = False
        if args.no_persistent_workers:
            cfg[loader]['persistent_workers'] = False
    return cfg
