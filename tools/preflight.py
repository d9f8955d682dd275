"""Check a training run before it queues: data, classes, sampler, memory bank, pretrained file, work dir, lr
scaling, then a few real iterations with peak memory and an estimated time per epoch and schedule.

    python tools/preflight.py CONFIG [--gpus N] [--iters K] [--pretrained FILE [--member I]] [train.py options]

Takes the options of tools/train.py (``--work-dir``, ``--cfg-options``, ``--amp``, ``--auto-scale-lr``, ...) so
that it checks the run those options make; ``--gpus`` is the number of processes the real run will start. The
launchers run it instead of training with ``--preflight`` (``tools/dist_train.sh CONFIG GPUS --preflight ...``).
Nothing is written to the work dir; exit 0 when the run can start, else one line naming the fix.
"""
import argparse

from mcl_mm.apis import load_config
from mcl_mm.apis.preflight import preflight
from mcl_mm.apis.runner import merge_train_args
from mcl_mm.utils.arguments import add_train_arguments, parse_with_launcher
from mcl_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check a training run before it starts')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--gpus', type=int, default=1, help='processes (GPUs) the real run will use')
    parser.add_argument('--iters', type=int, default=3, help='training iterations to run (the first is warm-up)')
    parser.add_argument(
        '--pretrained',
        help='a fine-tune config\'s backbone file: cohort checkpoint (with --member), published or '
        'extracted file')
    parser.add_argument('--member', type=int, help='the cohort member of --pretrained')
    parser.add_argument('--preflight', action='store_true', help=argparse.SUPPRESS)  # as the launchers pass it
    add_train_arguments(parser)
    return parse_with_launcher(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = run_tool('preflight', load_config, args.config, args.cfg_options, extra_errors=(SyntaxError, ))
    cfg = run_tool('preflight', merge_train_args, cfg, args, args.config, extra_errors=(ValueError, ))
    run_tool(
        'preflight',
        preflight,
        args.config,
        cfg,
        gpus=args.gpus,
        iters=args.iters,
        pretrained=args.pretrained,
        member=args.member,
        extra_errors=(KeyError, ))
    print(f'preflight: {args.config} can start on {args.gpus} GPU(s)')


if __name__ == '__main__':
    main()
