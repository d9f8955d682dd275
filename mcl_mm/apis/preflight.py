"""Preflight: what would make a training run fail after it has queued and started, checked in a minute before.

``tools/preflight.py`` (and ``--preflight`` on the launchers) call :func:`preflight`: the work dir, the data on
disk against the config, the class count against every ``num_classes`` of the model, the pretrained file of a
fine-tune config, the training set against the memory bank and the sampler, the last batch on the planned number
of GPUs, ``auto_scale_lr`` against the effective batch; then a few real training iterations (forward, backward,
optimizer step, hooks) with their peak memory and an estimated time per epoch and for the schedule.
Every failure is the same one-line error the training run would end in, before any training.
"""
import resource
import shutil
import statistics
import tempfile
import time
from typing import Callable, List, Optional

from mmengine.config import Config

from mcl_mm.datasets.checks import check_config_data, check_last_batch
from mcl_mm.utils.errors import ConfigError, ToolInputError
from .pretrained import resolve_backbone_init
from .runner import build_runner, check_work_dir


def _num_classes_settings(node, path: str = 'model') -> List[tuple]:
    """(dotted key, value) of every ``num_classes`` in a model config (heads of every member / stage)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'num_classes' and isinstance(value, int):
                found.append((f'{path}.{key}', value))
            else:
                found += _num_classes_settings(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            found += _num_classes_settings(value, f'{path}.{i}')
    return found


def check_num_classes(model_cfg: dict, classes, dataset_type: str) -> None:
    """Every ``num_classes`` of the model must be the dataset's class count (mmseg counts the background class
    among ``classes`` as its num_classes does)."""
    wrong = [(key, value) for key, value in _num_classes_settings(model_cfg) if value != len(classes)]
    if wrong:
        key, value = wrong[0]
        raise ConfigError(f'{key}={value}, but the training set ({dataset_type}) has {len(classes)} classes '
                          f'({", ".join(map(str, list(classes)[:5]))}{", ..." if len(classes) > 5 else ""}): set '
                          f'{key}={len(classes)} (and every other num_classes of the model), or train on the data the '
                          'config was written for')


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f'{seconds:.0f} s'
    if seconds < 7200:
        return f'{seconds / 60:.1f} min'
    return f'{seconds / 3600:.1f} h'


def preflight(config: str,
              cfg: Config,
              gpus: int = 1,
              iters: int = 3,
              pretrained: Optional[str] = None,
              member: Optional[int] = None,
              log: Callable[[str], None] = print) -> dict:
    """Check ``cfg`` (loaded from ``config``, command-line options merged) for a run on ``gpus`` processes.

    Args:
        config (str): The config file (for the pretrained check and the messages).
        cfg (Config): The config to check; ``cfg.work_dir`` is where the real run will write.
        gpus (int): Processes (GPUs) the real run will use. Defaults to 1.
        iters (int): Training iterations to run; the first is warm-up, the rest are timed. Defaults to 3.
        pretrained (str, optional): A fine-tune config's backbone file (a cohort checkpoint with ``member``, a
            published or an extracted file), checked as the fine-tune launchers do and loaded. Defaults to None.
        member (int, optional): The cohort member of ``pretrained``. Defaults to None.
        log (callable): Receives one line per check passed. Defaults to ``print``.

    Returns:
        dict: ``seconds_per_iter``, ``iters_per_epoch`` (per process on ``gpus`` processes), ``schedule_seconds``,
        ``peak_memory_mib``, ``device``.
    """
    if gpus < 1 or iters < 2:
        raise ToolInputError(f'--gpus must be >= 1 and --iters >= 2, got {gpus} and {iters}')
    check_work_dir(cfg.work_dir)
    log(f'ok  work dir {cfg.work_dir} is writable')
    if pretrained is not None:
        kind, prefix = resolve_backbone_init(config, pretrained, member)
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained, prefix=prefix)
        log(f'ok  pretrained {pretrained}: {kind}, loads strictly into the backbone')
    check_config_data(cfg, splits=('train', 'val'))
    log('ok  data on disk matches the config (folders / annotations / masks of train and val)')

    scratch = tempfile.mkdtemp(prefix='mcl_mm-preflight-')
    try:
        cfg = cfg.copy()
        cfg.work_dir = scratch  # the iterations below log and may save; nothing lands in the real work dir
        cfg.launcher = 'none'
        cfg.log_level = 'WARNING'  # the checks' lines, not the runner's start-up report
        runner = build_runner(cfg)
        return _train_iterations(runner, cfg, gpus, iters, log)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _train_iterations(runner, cfg: Config, gpus: int, iters: int, log) -> dict:
    import torch
    loop = runner.train_loop  # builds the training set, the sampler and the loader: their checks run here
    loader = loop.dataloader
    dataset = loader.dataset
    classes = (dataset.metainfo or {}).get('classes')
    if classes:
        check_num_classes(cfg.model, classes, type(dataset).__name__)
        log(f'ok  {len(dataset)} training samples, {len(classes)} classes = every num_classes of the model')
    batch_size = cfg.train_dataloader.get('batch_size', 1)
    drop_last = bool(cfg.train_dataloader.get('drop_last', False))
    batch_norm = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in runner.model.modules())
    sampler = cfg.train_dataloader.get('sampler', {}).get('type', '')
    if 'MPerClass' not in str(sampler) and 'batch_sampler' not in cfg.train_dataloader:
        check_last_batch(len(dataset), batch_size, gpus, drop_last, batch_norm)
    whole_batches = next((s for s in (loader.sampler, loader.batch_sampler) if hasattr(s, 'num_batches')), None)
    if whole_batches is not None:  # MPerClassSampler: whole batches per rank, the rest of the images dropped
        per_process = whole_batches._num_images // (whole_batches.batch_size * gpus)
        batch_size = whole_batches.batch_size
    else:
        per_process = -(-len(loader) // gpus)  # the loader was built for one process
    if per_process < 1:
        raise ConfigError(f'{len(dataset)} training samples give no full batch of {batch_size} on {gpus} GPU(s): '
                          'lower train_dataloader.batch_size or use fewer GPUs')
    log(f'ok  {per_process} iterations per epoch and GPU (batch {batch_size} x {gpus} GPU(s))')
    _check_auto_scale_lr(cfg, batch_size * gpus, log)

    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    if runner.param_schedulers is not None:
        runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()  # a pretrained init_cfg loads here, strictly
    init = (cfg.model.get('backbone') or {}).get('init_cfg') or {}
    if isinstance(init, dict) and init.get('checkpoint'):
        log(f'ok  backbone initialised from {init["checkpoint"]} (prefix {init.get("prefix")})')
    runner.optim_wrapper.initialize_count_status(runner.model, 0, loop.max_iters)
    runner.call_hook('before_train')  # the memory bank's size against the training set, among others
    runner.call_hook('before_train_epoch')
    runner.model.train()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times, start = [], time.perf_counter()
    batches = iter(loader)
    for idx in range(iters):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        if hasattr(loop, 'max_epochs'):
            loop.run_iter(idx, batch)
        else:
            loop.run_iter(batch)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    per_iter = statistics.median(times[1:])
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else _peak_rss_mib()
    what = 'GPU memory' if device == 'cuda' else 'process memory (RSS, whole process)'
    log(f'ok  {iters} training iterations (forward, backward, step, hooks): peak {what} {peak:.0f} MiB')
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_epochs' in train_cfg:
        total = per_iter * per_process * train_cfg['max_epochs']
        plan = f'{train_cfg["max_epochs"]} epochs'
    else:
        total = per_iter * train_cfg.get('max_iters', 0)
        plan = f'{train_cfg.get("max_iters", 0)} iterations'
    log(f'ok  on this hardware ({device}): {per_iter:.3f} s per iteration (median of {iters - 1}), '
        f'{_duration(per_iter * per_process)} per epoch, {_duration(total)} for {plan} without validation')
    return dict(
        seconds_per_iter=per_iter,
        iters_per_epoch=per_process,
        schedule_seconds=total,
        peak_memory_mib=peak,
        device=device)


def _check_auto_scale_lr(cfg: Config, effective_batch: int, log) -> None:
    """The recipe's lr is for ``auto_scale_lr.base_batch_size``; a different effective batch needs scaling."""
    scale = cfg.get('auto_scale_lr') or {}
    base = scale.get('base_batch_size')
    if base is None or base == effective_batch:
        if base is not None:
            log(f'ok  effective batch {effective_batch} = auto_scale_lr.base_batch_size')
        return
    if scale.get('enable', False):
        log(f'ok  effective batch {effective_batch} != base {base}: the lr is scaled by {effective_batch / base:g} '
            '(auto_scale_lr enabled)')
        return
    log(f'warn effective batch {effective_batch} (batch {cfg.train_dataloader.batch_size} x GPUs) but the recipe\'s lr '
        f'is for {base} (auto_scale_lr.base_batch_size): add --auto-scale-lr to scale the lr by '
        f'{effective_batch / base:g}, or train on {max(1, base // cfg.train_dataloader.batch_size)} GPUs')
