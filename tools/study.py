"""The evidence study: what do MCL and L-MCL buy over independent training and over DML, measured with
enough seeds to see it? Every run is an ordinary tools/train.py run of a config in configs/study/.

    python tools/study.py [--world-draws 2] [--seeds 5] [--arms independent,dml,mcl] [--jobs 2]
                          [--out outputs/study] [--docs docs/study] [--ablation] [--skip-finished]
                          [--draws 1 --merge-results docs/study/results.csv]   # one draw per session, pooled
    python tools/study.py --transfer --calibrate [--tasks voc_det,voc_seg] [--out outputs/transfer_calibration]
    python tools/study.py --transfer [--world-draws 2] [--seeds 5] [--repeats R] [--tasks ...] [--skip-finished]
                          [--out outputs/study_transfer] [--docs docs/study/transfer/measurement]
                          [--draws 2 --merge-results docs/study/transfer/measurement/results.csv]

The plans, tables and plots live in mcl_mm/experiments/study.py and transfer_study.py (``--transfer``: does an
MCL-pretrained backbone transfer better? see that module); this script parses the command line.

1. generates (once; cached) each draw of the two-digit world: the 100 numbers 00-99 composed from
   scikit-learn's handwritten digits, 32 px, train and val from disjoint writers; the draw is the generator's seed;
2. trains every arm (default: independent, DML, MCL; ``--arms`` adds MCL + logit KD and L-MCL v2,
   ``--ablation`` MCL with single terms switched off) for every seed of every draw (draw w: seeds
   w*S .. w*S+S-1), identical data, schedule and hyper-parameters;
3. evaluates each final checkpoint on the training images too (is training saturated?);
4. writes results.md, results.csv (``arm,seed,metric,value``), accuracy / paired-difference / curve plots;
   the paired per-seed difference of each arm to independent training and to DML with a 95 % t interval, per
   draw and pooled.
"""
import argparse

from mcl_mm.experiments.study import ABLATIONS, ARMS, DEFAULT_ARMS, run_study
from mcl_mm.experiments.transfer_calibration import run_calibration
from mcl_mm.experiments.transfer_study import TASKS, run_transfer_study
from mcl_mm.utils.cli import positive_int, run_tool
from mcl_mm.utils.paths import project_root

ROOT = project_root()


def main(argv=None):
    parser = argparse.ArgumentParser(description='MCL evidence study on the generated two-digit world')
    parser.add_argument(
        '--transfer',
        action='store_true',
        help='the transfer study instead: independent / DML / MCL pretraining -> member 0 fine-tuned and frozen on '
        'VOC detection and segmentation, and a linear probe (mcl_mm/experiments/transfer_study.py)')
    parser.add_argument(
        '--calibrate',
        action='store_true',
        help='with --transfer: calibrate the detection / segmentation fine-tune recipes on the calibration draw '
        '(mcl_mm/experiments/transfer_calibration.py); finished runs in --out are kept')
    parser.add_argument('--quick', action='store_true', help='tiny world, 2 epochs, 2 draws x 1 seed: a pipeline check')
    parser.add_argument(
        '--world-draws',
        type=positive_int,
        help='draws of the generated world (full and quick: 2; --transfer: 2 and 1, draws 1, 2, ...)')
    parser.add_argument(
        '--draws',
        help='train and tabulate only these draws, e.g. 1 (draw w keeps its seeds: w*seeds ... (w+1)*seeds-1; '
        '--transfer: (w-1)*seeds ... w*seeds-1); with --merge-results, one draw per session still pools')
    parser.add_argument(
        '--merge-results',
        metavar='RESULTS_CSV',
        help="add the draws an earlier invocation tabulated (its results.csv and the world_draws.json beside it, "
        "e.g. docs/study/results.csv; --transfer: the repeats.csv beside it) to this one's tables: per draw and "
        "pooled")
    parser.add_argument('--seeds', type=positive_int, help='seeds per arm and draw (full: 5, quick: 1)')
    parser.add_argument('--repeats', type=positive_int, help='--transfer: fine-tunes per pretrained member and task')
    parser.add_argument('--tasks', help=f'--transfer: comma-separated subset of {",".join(TASKS)} (default: all)')
    parser.add_argument(
        '--arms',
        help=f'comma-separated, from {",".join(list(ARMS) + list(ABLATIONS))} (default: {",".join(DEFAULT_ARMS)})')
    parser.add_argument('--ablation', action='store_true', help='add the MCL term ablations to the arms')
    parser.add_argument('--jobs', type=positive_int, default=2, help='runs at once (each gets cores / jobs threads)')
    parser.add_argument(
        '--out', help='output folder (runs, logs, tables, plots; default outputs/study or outputs/study_transfer)')
    parser.add_argument('--docs', help='also copy results.md/.csv and the plots here (e.g. docs/study)')
    parser.add_argument('--workdir', default=ROOT, help='where data/study is generated')
    parser.add_argument(
        '--arm-seeds',
        nargs='+',
        default=[],
        metavar='ARM=N',
        help='fewer seeds per draw for some arms (e.g. lmcl_v2=3 when time is short); the table says n')
    parser.add_argument(
        '--skip-finished',
        action='store_true',
        help='keep the runs in --out that already finished; train only the missing ones')
    parser.add_argument('--collect-only', action='store_true', help='tabulate finished runs in --out, train none')
    args = vars(parser.parse_args(argv))
    calibrate = args.pop('calibrate')
    if calibrate and not args['transfer']:
        parser.error('--calibrate: an option of --transfer (python tools/study.py --transfer --calibrate)')
    if args.pop('transfer'):
        wrong = [f'--{k.replace("_", "-")}' for k in ('arms', 'arm_seeds', 'ablation') if args[k]]
        if wrong:
            parser.error(f'{", ".join(wrong)}: not options of --transfer (its arms are fixed: independent, DML, MCL)')
        if calibrate:
            wrong = [
                f'--{k.replace("_", "-")}'
                for k in ('seeds', 'repeats', 'skip_finished', 'collect_only', 'world_draws', 'draws', 'merge_results')
                if args[k]
            ]
            if wrong:
                parser.error(f'{", ".join(wrong)}: not options of --calibrate (its draw and seeds are fixed; it always '
                             'keeps finished runs)')
            run_tool(
                'study.py',
                run_calibration,
                out=args['out'] or 'outputs/transfer_calibration',
                **{k: args[k]
                   for k in ('quick', 'tasks', 'jobs', 'docs', 'workdir')})
            return
        kept = ('quick', 'seeds', 'repeats', 'tasks', 'jobs', 'docs', 'workdir', 'skip_finished', 'collect_only',
                'world_draws', 'draws', 'merge_results')
        run_tool(
            'study.py', run_transfer_study, out=args['out'] or 'outputs/study_transfer', **{k: args[k]
                                                                                            for k in kept})
        return
    wrong = [f'--{k}' for k in ('repeats', 'tasks') if args[k]]
    if wrong:
        parser.error(f'{", ".join(wrong)}: options of --transfer only')
    del args['repeats'], args['tasks']
    run_tool('study.py', run_study, **dict(args, out=args['out'] or 'outputs/study'))


if __name__ == '__main__':
    main()
