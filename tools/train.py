"""Train any OpenMMLab 2.x config: mcl_mm cohorts, mmpretrain classifiers, mmdet detectors, mmseg segmentors.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp] [--auto-scale-lr]
                                [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--unsafe-allow-pickle]

One training run writes into a work dir at a time (a second one is refused); checkpoints load weights-only
unless ``--unsafe-allow-pickle`` is given for a file you trust.
"""
import argparse
import os
import os.path as osp

from mcl_mm.datasets.checks import check_config_data, check_runner_data
from mcl_mm.engine import check_resumable, repair_last_checkpoint
from mcl_mm.utils import build_runner, load_config
from mcl_mm.utils.cli import ToolInputError, run_tool
from mcl_mm.utils.runner import (CfgOptionsAction, add_unsafe_pickle_flag, check_work_dir, lock_work_dir,
                                 parse_with_launcher, run_loop)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model (mcl_mm / mmpretrain / mmdet / mmseg config)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true', help='do not validate during training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by the actual batch size')
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers', action='store_true', help='disable persistent_workers in the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. model.loss.tau=0.1 (key=value, xxx=[a,b] for lists)')
    add_unsafe_pickle_flag(parser)
    return parse_with_launcher(parser, argv)


def merge_args(cfg, args):
    """Fold the command-line flags into the config, as mmpretrain / mmdet tools do."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
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


def main(argv=None):
    args = parse_args(argv)
    cfg = run_tool('train', load_config, args.config, args.cfg_options, extra_errors=(SyntaxError, ))
    run_tool('train', check_resume_path, args.resume)
    cfg = run_tool('train', merge_args, cfg, args, extra_errors=(ValueError, ))
    run_tool('train', check_work_dir, cfg.work_dir)
    run_tool('train', lock_work_dir, cfg.work_dir, args.launcher)
    if args.resume == 'auto':
        cfg.load_from = repair_last_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None  # nothing to resume: a fresh start (mmengine would follow any
        # last_checkpoint pointer, even to an exported file)
    if int(os.environ.get('LOCAL_RANK', 0)) == 0:  # the data on disk against the config, once per machine
        run_tool('train', check_config_data, cfg, splits=('train', 'val'))
    runner = run_tool('train', build_runner, cfg, args.unsafe_allow_pickle, extra_errors=(KeyError, ))
    if cfg.get('resume') and cfg.get('load_from') and osp.isfile(cfg.load_from):  # (after build_runner: the
        run_tool('train', check_resumable, cfg.load_from)  # --unsafe-allow-pickle choice is in force)
    run_tool('train', check_runner_data, runner)  # builds the training set: a last batch BatchNorm cannot take
    run_loop(runner, 'train')


def check_resume_path(resume) -> None:
    if resume not in (None, 'auto') and not os.path.isfile(resume):
        raise ToolInputError(f'--resume {resume}: no such checkpoint file')


if __name__ == '__main__':
    main()
