"""Evaluate a checkpoint with any OpenMMLab 2.x config (mcl_mm / mmpretrain / mmdet / mmseg).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE [--out-item pred|metrics]]
                         [--show-dir DIR] [--show [--interval N] [--wait-time S]] [--tta] [--amp]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi] [--unsafe-allow-pickle]

The flags are mmpretrain's: ``--out-item pred`` (default) dumps the raw predictions (.pkl), ``metrics`` the
metrics (.json / .yaml / .pkl); ``--tta`` averages the scores over test-time augmentations (the config's
``tta_pipeline`` / ``tta_model``, else a horizontal flip; a cohort averages every member's scores too);
``--amp`` runs the test loop under autocast.
"""
import argparse
import copy
import os
import os.path as osp

from mcl_mm.apis import build_runner, load_config
from mcl_mm.apis.runner import check_test_classes, check_work_dir, load_weights_strictly, run_loop
from mcl_mm.datasets.checks import check_config_data
from mcl_mm.utils.arguments import CfgOptionsAction, add_unsafe_pickle_flag, parse_with_launcher
from mcl_mm.utils.cli import ToolInputError, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument('--out', help='dump the predictions (.pkl) or, with --out-item metrics, the metrics here')
    parser.add_argument('--out-item', choices=['pred', 'metrics'], default='pred', help='what --out holds')
    parser.add_argument('--show-dir', help='save drawn predictions into this directory (under work_dir/timestamp)')
    parser.add_argument('--show', action='store_true', help='display the drawn predictions in a window')
    parser.add_argument('--interval', type=int, default=1, help='draw every N-th sample (--show / --show-dir)')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds each --show window stays')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (score averaging)')
    parser.add_argument('--amp', action='store_true', help='run the test loop under automatic mixed precision')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, help='override config settings')
    add_unsafe_pickle_flag(parser)
    return parse_with_launcher(parser, argv)


def _enable_visualization(cfg, args):
    """Turn on the codebase's visualization hook: draw predictions into --show-dir and / or show them."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ToolInputError('--show / --show-dir need a `visualization` hook in default_hooks')
    hooks.visualization.enable = True
    hook_type = hooks.visualization.get('type', '')
    # mmpretrain's hook names the option out_dir; mmdet / mmseg call it test_out_dir.
    pretrain_hook = 'Cls' in hook_type or hook_type == 'VisualizationHook'
    if not pretrain_hook:
        hooks.visualization.draw = True
    if args.show_dir:
        hooks.visualization['out_dir' if pretrain_hook else 'test_out_dir'] = args.show_dir
    hooks.visualization.show = args.show
    hooks.visualization.wait_time = args.wait_time
    hooks.visualization.interval = args.interval


def _root_relative_show_dir(runner) -> None:
    """mmpretrain's hook writes a relative out_dir against the current folder; put it under
    work_dir/<timestamp>/ as mmdet's and mmseg's hooks do."""
    from mmpretrain.engine.hooks import VisualizationHook
    for hook in runner.hooks:
        if isinstance(hook, VisualizationHook) and hook.out_dir and not osp.isabs(hook.out_dir):
            hook.out_dir = osp.join(runner.work_dir, runner.timestamp, hook.out_dir)


def _enable_tta(cfg) -> None:
    """mmpretrain's --tta: the config's tta_pipeline / tta_model, else flip + score averaging; cohorts average
    every member's scores (AverageCohortScoreTTA)."""
    cohort = cfg.model.get('type') in ('MCL', 'LMCL', 'DML')
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(type='AverageCohortScoreTTA' if cohort else 'mmpretrain.AverageClsScoreTTA')
    if 'tta_pipeline' not in cfg:
        pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        if not pipeline or pipeline[-1].get('type') != 'PackInputs':
            raise ToolInputError('--tta: the test pipeline does not end in PackInputs; give the config a '
                                 '`tta_pipeline`')
        flip = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.),
                         dict(type='RandomFlip', prob=0.)], [pipeline[-1]]])
        cfg.tta_pipeline = pipeline[:-1] + [flip]
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def check_args(args) -> None:
    if osp.isdir(args.checkpoint):
        raise ToolInputError(f'{args.checkpoint} is a folder; give the checkpoint file (e.g. epoch_100.pth)')
    if not osp.isfile(args.checkpoint):
        raise ToolInputError(f'checkpoint not found: {args.checkpoint}')
    if args.out is not None and args.out_item == 'pred' and not args.out.endswith(('.pkl', '.pickle')):
        raise ToolInputError(f'--out must be a .pkl/.pickle file for predictions, got {args.out}')
    metric_suffixes = ('.json', '.yaml', '.yml', '.pkl', '.pickle')
    if args.out is not None and args.out_item == 'metrics' and not args.out.endswith(metric_suffixes):
        raise ToolInputError(f'--out-item metrics writes .json / .yaml / .pkl, got {args.out}')
    if args.out is not None:
        check_out_file(args.out, inputs=(args.checkpoint, args.config))


def check_out_file(out: str, inputs) -> None:
    """--out is written after the whole evaluation: check now that it is not one of the inputs and that its
    folder can be written, so the evaluation is not spent for nothing."""
    for src in inputs:
        if osp.exists(src) and (osp.realpath(out) == osp.realpath(src) or osp.exists(out) and osp.samefile(out, src)):
            raise ToolInputError(f'--out {out} is the input {src}: writing it would destroy it; choose another file')
    if osp.isdir(out):
        raise ToolInputError(f'--out {out} is a folder; give a file path')
    folder = osp.dirname(osp.abspath(out))
    if not osp.isdir(folder):
        raise ToolInputError(f'--out {out}: the folder {folder} does not exist; create it first')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ToolInputError(f'--out {out}: the folder {folder} is not writable; choose another place')


def main(argv=None):
    args = parse_args(argv)
    run_tool('test', check_args, args)
    cfg = run_tool('test', load_config, args.config, args.cfg_options, extra_errors=(SyntaxError, ))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    run_tool('test', check_work_dir, cfg.work_dir)
    run_tool('test', check_config_data, cfg, splits=('test', ))
    # Weights are loaded here, strictly: a file that leaves the model's weights missing or unmatched would
    # otherwise be scored with random weights after one warning.
    cfg.load_from = None
    if args.show or args.show_dir:
        run_tool('test', _enable_visualization, cfg, args, extra_errors=(ValueError, ))
    if args.tta:
        run_tool('test', _enable_tta, cfg, extra_errors=(KeyError, AttributeError))
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)

    runner = run_tool('test', build_runner, cfg, args.unsafe_allow_pickle, extra_errors=(KeyError, ))
    _root_relative_show_dir(runner)
    run_tool('test', load_weights_strictly, runner, args.checkpoint)
    run_tool('test', check_test_classes, runner, args.checkpoint)
    if args.out is not None and args.out_item == 'pred':
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = run_loop(runner, 'test')
    if args.out is not None and args.out_item == 'metrics':
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
