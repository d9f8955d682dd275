"""Train any OpenMMLab 2.x config: mcl_mm cohorts, mmpretrain classifiers, mmdet detectors, mmseg segmentors.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp] [--auto-scale-lr]
                                [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--unsafe-allow-pickle]

One training run writes into a work dir at a time (a second one is refused); checkpoints load weights-only
unless ``--unsafe-allow-pickle`` is given for a file you trust.
"""
import argparse
import os
import os.path as osp

from mcl_mm.apis import build_runner, load_config
from mcl_mm.apis.resume import check_resume
from mcl_mm.apis.runner import check_pretrained_files, check_work_dir, lock_work_dir, merge_train_args, run_loop
from mcl_mm.datasets.checks import check_config_data, check_runner_data
from mcl_mm.engine import repair_last_checkpoint
from mcl_mm.utils.arguments import add_train_arguments, parse_with_launcher
from mcl_mm.utils.cli import ToolInputError, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model (mcl_mm / mmpretrain / mmdet / mmseg config)')
    parser.add_argument('config', help='train config file path')
    add_train_arguments(parser)
    return parse_with_launcher(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = run_tool('train', load_config, args.config, args.cfg_options, extra_errors=(SyntaxError, ))
    run_tool('train', check_resume_path, args.resume)
    cfg = run_tool('train', merge_train_args, cfg, args, args.config, extra_errors=(ValueError, ))
    run_tool('train', check_pretrained_files, cfg)
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
        run_tool('train', check_resume, runner, cfg.load_from)  # --unsafe-allow-pickle choice is in force)
    run_tool('train', check_runner_data, runner)  # builds the training set: a last batch BatchNorm cannot take
    run_loop(runner, 'train')


def check_resume_path(resume) -> None:
    if resume not in (None, 'auto') and not os.path.isfile(resume):
        raise ToolInputError(f'--resume {resume}: no such checkpoint file')


if __name__ == '__main__':
    main()
