"""The evidence study: what do MCL and L-MCL buy over independent training and over DML, measured with
enough seeds to see it? Every run is an ordinary tools/train.py run of a config in configs/study/.

    python tools/study.py [--seeds 5] [--jobs 2] [--out outputs/study] [--docs docs/study] [--ablation]

The plan, tables and plots live in mcl_mm/experiments/study.py; this script parses the command line.

1. generates (once; cached) the two-digit world: the 100 numbers 00-99 composed from scikit-learn's
   handwritten digits, 32 px, train and val from disjoint writers;
2. trains every arm (independent, DML, MCL, MCL + logit KD, L-MCL v2; ``--ablation`` adds MCL with single
   terms switched off) for every seed, identical data, schedule and hyper-parameters;
3. evaluates each final checkpoint on the training images too (is training saturated?);
4. writes results.md, results.csv (``arm,seed,metric,value``), accuracy / paired-difference / curve plots;
   the paired per-seed difference of each arm to independent training and to DML with a 95 % t interval.
"""
import argparse
import os.path as osp

from mcl_mm.experiments.study import ABLATIONS, ARMS, run_study
from mcl_mm.utils.cli import run_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description='MCL evidence study on the generated two-digit world')
    parser.add_argument('--quick', action='store_true', help='tiny world, 1 epoch, 2 seeds: a pipeline check')
    parser.add_argument('--seeds', type=int, help='seeds per arm (full: 5, quick: 2)')
    parser.add_argument('--arms', help=f'comma-separated subset of {",".join(list(ARMS) + list(ABLATIONS))}')
    parser.add_argument('--ablation', action='store_true', help='add the MCL term ablations to the arms')
    parser.add_argument('--jobs', type=int, default=2, help='runs at once (each gets cores / jobs threads)')
    parser.add_argument('--out', default='outputs/study', help='output folder (runs, logs, tables, plots)')
    parser.add_argument('--docs', help='also copy results.md/.csv and the plots here (e.g. docs/study)')
    parser.add_argument('--workdir', default=ROOT, help='where data/study is generated')
    parser.add_argument(
        '--arm-seeds',
        nargs='+',
        default=[],
        metavar='ARM=N',
        help='fewer seeds for some arms (e.g. lmcl_v2=3 when time is short); the table says n')
    parser.add_argument(
        '--skip-finished',
        action='store_true',
        help='keep the runs in --out that already finished; train only the missing ones')
    parser.add_argument('--collect-only', action='store_true', help='tabulate finished runs in --out, train none')
    args = parser.parse_args(argv)
    run_tool('study.py', run_study, **vars(args))


if __name__ == '__main__':
    main()
