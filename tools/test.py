"""Evaluate a checkpoint with any OpenMMLab 2.x config (mcl_mm / mmpretrain / mmdet / mmseg).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout without install

from mcl_mm.utils import build_runner, load_config  # noqa: E402
from mcl_mm.utils.cli import ToolInputError, run_tool  # noqa: E402
from mcl_mm.utils.runner import CfgOptionsAction, check_work_dir, load_weights_strictly, run_loop  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file (.pkl)')
    parser.add_argument('--show-dir', help='save drawn predictions into this directory (under work_dir/timestamp)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, help='override config settings')
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
        raise ToolInputError('--show-dir needs a `visualization` hook in default_hooks')
    hooks.visualization.enable = True
    hook_type = hooks.visualization.get('type', '')
    # mmpretrain's hook names the option out_dir; mmdet / mmseg call it test_out_dir.
    if 'Cls' in hook_type or hook_type == 'VisualizationHook':
        hooks.visualization.out_dir = show_dir
    else:
        hooks.visualization.draw = True
        hooks.visualization.test_out_dir = show_dir


def check_args(args) -> None:
    if osp.isdir(args.checkpoint):
        raise ToolInputError(f'{args.checkpoint} is a folder; give the checkpoint file (e.g. epoch_100.pth)')
    if not osp.isfile(args.checkpoint):
        raise ToolInputError(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ToolInputError(f'--out must be a .pkl/.pickle file, got {args.out}')


def main(argv=None):
    args = parse_args(argv)
    run_tool('test', check_args, args)
    cfg = run_tool('test', load_config, args.config, args.cfg_options,
                   extra_errors=(SyntaxError, ))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    run_tool('test', check_work_dir, cfg.work_dir)
    # Weights are loaded here, strictly: a file that leaves the model's weights missing or unmatched would
    # otherwise be scored with random weights after one warning.
    cfg.load_from = None
    if args.show_dir:
        run_tool('test', _enable_visualization, cfg, args.show_dir, extra_errors=(ValueError, ))

    runner = run_tool('test', build_runner, cfg, extra_errors=(KeyError, ))
    run_tool('test', load_weights_strictly, runner, args.checkpoint)
    if args.out is not None:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    run_loop(runner, 'test')


if __name__ == '__main__':
    main()
