"""Evaluate a checkpoint with any OpenMMLab 2.x config (mcl_mm / mmpretrain / mmdet / mmseg).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout without install

from mmengine.config import DictAction  # noqa: E402

from mcl_mm.utils import build_runner, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file (.pkl)')
    parser.add_argument('--show-dir', help='save drawn predictions into this directory (under work_dir/timestamp)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _enable_visualization(cfg, show_dir):
    """Turn on the codebase's visualization hook, which draws predictions into show_dir."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ValueError('--show-dir needs a `visualization` hook in default_hooks')
    hooks.visualization.enable = True
    hook_type = hooks.visualization.get('type', '')
    # mmpretrain's hook names the option out_dir; mmdet / mmseg call it test_out_dir.
    if 'Cls' in hook_type or hook_type == 'VisualizationHook':
        hooks.visualization.out_dir = show_dir
    else:
        hooks.visualization.draw = True
        hooks.visualization.test_out_dir = show_dir


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        _enable_visualization(cfg, args.show_dir)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl/.pickle file, got {args.out}')

    runner = build_runner(cfg)
    if args.out is not None:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
