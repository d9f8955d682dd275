"""The evidence study: what do MCL and L-MCL buy over independent training and over DML, measured with
enough seeds to see it? Every run is an ordinary tools/train.py run of a config in configs/study/.

    python tools/study.py [--seeds 5] [--jobs 2] [--out outputs/study] [--docs docs/study] [--ablation]

1. generates (once; cached) the two-digit world: the 100 numbers 00-99 composed from scikit-learn's
   handwritten digits, 32 px, train and val from disjoint writers;
2. trains every arm (independent, DML, MCL, MCL + logit KD, L-MCL v2; ``--ablation`` adds MCL with single
   terms switched off) for every seed, identical data, schedule and hyper-parameters;
3. evaluates each final checkpoint on the training images too (is training saturated?);
4. writes results.md, results.csv (``arm,seed,metric,value``), accuracy / paired-difference / curve plots;
   the paired per-seed difference of each arm to independent training and to DML with a 95 % t interval.
"""
import argparse
import csv
import json
import math
import os
import os.path as osp
import statistics
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mcl_mm.utils.jobs import Job, host_description, run_jobs
from mcl_mm.utils.results import RunRecordError, format_interval, paired_interval, run_status, scalar_records

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

STUDY = 'configs/study'
_MCL = f'{STUDY}/mcl_resnet20x2_1xb64-30e_two-digits.py'
# arm -> (label, config, extra cfg-options, relative cost for the ETA)
ARMS = OrderedDict([
    ('independent', ('independent', f'{STUDY}/independent_resnet20x2_1xb64-30e_two-digits.py', [], 1.0)),
    ('dml', ('DML', f'{STUDY}/dml_resnet20x2_1xb64-30e_two-digits.py', [], 1.0)),
    ('mcl', ('MCL', _MCL, [], 1.05)),
    ('mcl_logitkd', ('MCL + logit KD', f'{STUDY}/mcl-logitkd_resnet20x2_1xb64-30e_two-digits.py', [], 1.05)),
    ('lmcl_v2', ('L-MCL v2', f'{STUDY}/lmcl-v2_resnet20x2_1xb64-30e_two-digits.py', [], 2.0)),
])
# MCL with terms switched off (the same config; only loss weights change).
ABLATIONS = OrderedDict([
    ('mcl_soft_only', ('MCL, soft terms only', _MCL,
                       ['model.loss.loss_weights.vcl=0.0', 'model.loss.loss_weights.icl=0.0'], 1.05)),
    ('mcl_hard_only', ('MCL, hard terms only', _MCL,
                       ['model.loss.loss_weights.soft_vcl=0.0', 'model.loss.loss_weights.soft_icl=0.0'], 1.05)),
    ('mcl_vcl_only', ('MCL, VCL + Soft VCL only', _MCL,
                      ['model.loss.loss_weights.icl=0.0', 'model.loss.loss_weights.soft_icl=0.0'], 1.05)),
    ('mcl_icl_only', ('MCL, ICL + Soft ICL only', _MCL,
                      ['model.loss.loss_weights.vcl=0.0', 'model.loss.loss_weights.soft_vcl=0.0'], 1.05)),
])
# Sizes of the world and of each run: full / --quick (a pipeline check, not a measurement).
MODES = {
    'full': dict(train_per_class=25, val_per_class=15, epochs=30, seeds=5),
    'quick': dict(train_per_class=2, val_per_class=1, epochs=2, seeds=2),
}
METRICS = OrderedDict([
    ('val/member_mean/top1', 'member mean top-1'),
    ('val/ensemble/top1', 'ensemble top-1'),
    ('val/member_0/top1', 'member 0 top-1'),
    ('val/member_1/top1', 'member 1 top-1'),
    ('train/member_mean/top1', 'train member mean top-1'),
])
HEADLINE = ('val/member_mean/top1', 'val/ensemble/top1')


def generate_data(data_root: str, mode: dict) -> None:
    """The two-digit world; skipped when the same spec was generated before."""
    from demo_world import TWO_DIGIT_WORLD, make_digit_classification_folder
    spec = dict(
        version=1,
        digits_per_image=2,
        image_size=32,
        seed=0,
        **TWO_DIGIT_WORLD,
        **{k: mode[k]
           for k in ('train_per_class', 'val_per_class')})
    stamp = osp.join(data_root, 'spec.json')
    if osp.exists(stamp) and json.load(open(stamp)) == spec:
        print(f'[study] data: reusing {data_root}')
        return
    start = time.time()
    make_digit_classification_folder(
        data_root,
        train_per_class=mode['train_per_class'],
        val_per_class=mode['val_per_class'],
        image_size=32,
        seed=0,
        digits_per_image=2,
        **TWO_DIGIT_WORLD)
    with open(stamp, 'w') as f:
        json.dump(spec, f)
    print(f'[study] data: generated {data_root} in {time.time() - start:.0f} s')


def plan(arms: 'OrderedDict[str, tuple]',
         seeds: Sequence[int],
         epochs: int,
         data_root: str,
         out: str,
         skip_finished: bool = False,
         arm_seeds: Optional[Dict[str, int]] = None) -> List[Job]:
    """The training and train-set evaluation jobs; ``skip_finished`` leaves out runs that already finished,
    ``arm_seeds`` caps the number of seeds of some arms (``{'lmcl_v2': 3}``)."""
    py, train, test = sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, 'tools', 'test.py')
    warmup = min(5, epochs - 1)  # the configs' 5 warm-up epochs, shortened only for --quick
    schedule = [
        f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={warmup}', f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={epochs}', f'train_cfg.val_interval={max(1, epochs // 6)}',
        f'default_hooks.checkpoint.interval={epochs}'
    ]
    jobs = []
    for seed in seeds:
        for arm, (_, config, options, cost) in arms.items():
            work = osp.join(out, 'runs', arm, f's{seed}')
            if (skip_finished and run_finished(work)) or seed >= (arm_seeds or {}).get(arm, len(seeds)):
                continue
            jobs.append(
                Job(f'{arm}/s{seed}', [
                    py, train,
                    osp.join(ROOT, config), '--work-dir', work, '--cfg-options', f'data_root={data_root}',
                    f'randomness.seed={seed}', *schedule, *options
                ],
                    cost=cost,
                    work_dir=work))
            jobs.append(
                Job(f'{arm}/s{seed}/train-eval', [
                    py, test,
                    osp.join(ROOT, config),
                    osp.join(work, f'epoch_{epochs}.pth'), '--work-dir',
                    osp.join(work, 'train_eval'), '--cfg-options', f'data_root={data_root}',
                    'test_dataloader.dataset.data_prefix=train', *options
                ],
                    cost=0.05,
                    deps=[f'{arm}/s{seed}']))
    return jobs


def run_finished(work_dir: str) -> bool:
    """The run validated at its last epoch and its final checkpoint was evaluated on the training images."""
    if not osp.isdir(osp.join(work_dir, 'train_eval')):
        return False
    try:
        return run_status(work_dir, ['cohort/ensemble/top1'])[0] and bool(
            _test_metrics(osp.join(work_dir, 'train_eval')))
    except (SystemExit, RunRecordError, OSError):
        return False


def _test_metrics(work_dir: str) -> Dict[str, float]:
    """The metrics tools/test.py logged (mmengine writes them to <work_dir>/<timestamp>/<timestamp>.json)."""
    found = {}
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, f'{stamp}.json')
        if osp.exists(path):
            found = json.load(open(path))
    if not found:
        raise SystemExit(f'[study] no test metrics in {work_dir}')
    return found


def run_metrics(work_dir: str) -> Dict[str, float]:
    """One run's metrics: the last validation of the training run, and the train-set evaluation."""
    val = [r for r in scalar_records(work_dir) if 'cohort/ensemble/top1' in r]
    if not val:
        raise SystemExit(f'[study] {work_dir} has no validation record')
    last, train = val[-1], _test_metrics(osp.join(work_dir, 'train_eval'))
    metrics = {}
    for split, record in (('val', last), ('train', train)):
        members = [record[f'cohort/member_{i}/top1'] for i in range(2)]
        metrics.update({f'{split}/member_{i}/top1': v for i, v in enumerate(members)})
        metrics[f'{split}/member_mean/top1'] = statistics.mean(members)
        metrics[f'{split}/ensemble/top1'] = record['cohort/ensemble/top1']
    return metrics


def collect(arms: 'OrderedDict[str, tuple]', seeds: Sequence[int], out: str) -> Dict[str, Dict[str, Dict]]:
    """arm -> metric -> {seed: value} over the runs that finished (an unfinished one is named and left out);
    writes results.csv (arm,seed,metric,value)."""
    table = OrderedDict((arm, OrderedDict((m, OrderedDict()) for m in METRICS)) for arm in arms)
    with open(osp.join(out, 'results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['arm', 'seed', 'metric', 'value'])
        for arm in arms:
            for seed in seeds:
                work_dir = osp.join(out, 'runs', arm, f's{seed}')
                if not run_finished(work_dir):
                    print(f'[study] {arm} seed {seed}: no finished run in {work_dir}; left out')
                    continue
                metrics = run_metrics(work_dir)
                for key in METRICS:
                    table[arm][key][seed] = metrics[key]
                    writer.writerow([arm, seed, key, f'{metrics[key]:.4f}'])
    empty = [arm for arm in arms if not table[arm][HEADLINE[0]]]
    if empty:
        raise SystemExit(f'[study] no finished run for {empty} in {out}/runs')
    return table


def paired(table, arm: str, reference: str, metric: str) -> Tuple[List[int], List[float], List[float]]:
    """The seeds both arms finished, and each arm's values on them."""
    common = sorted(set(table[arm][metric]) & set(table[reference][metric]))
    return common, [table[arm][metric][s] for s in common], [table[reference][metric][s] for s in common]


def _mean_std(values) -> str:
    values = list(values.values()) if isinstance(values, dict) else list(values)
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}' if len(values) > 1 else f'{values[0]:.2f}'


def _interval(values, reference) -> str:
    if not values:
        return '–'
    return format_interval(*paired_interval(values, reference))


def markdown(table, arms, seeds, mode: dict, minutes: float, mode_name: str) -> str:
    labels = {arm: spec[0] for arm, spec in arms.items()}
    lines = [
        f'# MCL evidence study: results ({mode_name} mode)', '',
        f'Written by `python tools/study.py` on {time.strftime("%Y-%m-%d")}: seeds {", ".join(map(str, seeds))} '
        f'(the `seeds` column: runs that finished), {mode["epochs"]} epochs, {minutes:.0f} min on '
        f'{host_description()}. '
        f'World: the 100 two-digit numbers, {mode["train_per_class"]} training images per class, top-1 (%) on '
        f'{100 * mode["val_per_class"]} images of held-out writers at the last epoch; "train" is the final '
        'checkpoint evaluated on the training images (test pipeline). Mean ± std over seeds.', '',
        '| arm | seeds | ' + ' | '.join(METRICS.values()) + ' |', '|' + '---|' * (len(METRICS) + 2)
    ]
    for arm in arms:
        lines.append(f'| {labels[arm]} | {len(table[arm][HEADLINE[0]])} | ' +
                     ' | '.join(_mean_std(table[arm][m]) for m in METRICS) + ' |')
    for reference in ('independent', 'dml'):
        if reference not in table:
            continue
        lines += [
            '', f'Paired per-seed difference to {labels[reference]} (a seed fixes the members\' initial '
            'weights and the batch order in every arm), mean [95 % t interval]:', '',
            '| arm | ' + ' | '.join(METRICS[m] for m in HEADLINE) + ' | per-seed member-mean difference |',
            '|---|---|---|---|'
        ]
        for arm in arms:
            if arm == reference:
                continue
            _, values, ref_values = paired(table, arm, reference, HEADLINE[0])
            per_seed = ', '.join(f'{v - r:+.2f}' for v, r in zip(values, ref_values))
            lines.append(f'| {labels[arm]} | ' +
                         ' | '.join(_interval(*paired(table, arm, reference, m)[1:])
                                    for m in HEADLINE) + f' | {per_seed} |')
    lines += [
        '', '![accuracy](accuracy.png)', '', '![paired differences](paired_differences.png)', '',
        '![curves](curves.png)', ''
    ]
    return '\n'.join(lines)


def plot(table, arms, seeds, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = [spec[0] for spec in arms.values()]

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric in zip(axes, HEADLINE):
        for x, arm in enumerate(arms):
            values = list(table[arm][metric].values())
            ax.scatter([x] * len(values), values, s=14, alpha=0.6)
            ax.errorbar(
                x + 0.15,
                statistics.mean(values),
                yerr=statistics.stdev(values) if len(values) > 1 else 0,
                fmt='o',
                color='k',
                capsize=3)
        ax.set_xticks(range(len(arms)), labels, rotation=25, ha='right')
        ax.set(title=f'{METRICS[metric]} (%): seeds, mean ± std')
        ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'accuracy.png'), dpi=120)
    plt.close(fig)

    others = [arm for arm in arms if arm != 'independent']
    if 'independent' in arms and others:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        for ax, metric in zip(axes, HEADLINE):
            for x, arm in enumerate(others):
                _, values, ref_values = paired(table, arm, 'independent', metric)
                if not values:
                    continue
                diffs = [v - r for v, r in zip(values, ref_values)]
                mean, low, high = paired_interval(values, ref_values)
                ax.scatter([x] * len(diffs), diffs, s=14, alpha=0.6)
                if not math.isnan(low):
                    ax.errorbar(x + 0.15, mean, yerr=[[mean - low], [high - mean]], fmt='o', color='k', capsize=3)
            ax.axhline(0, color='grey', linewidth=1)
            ax.set_xticks(range(len(others)), [arms[a][0] for a in others], rotation=25, ha='right')
            ax.set(title=f'{METRICS[metric]}: arm - independent (points), mean, 95 % CI')
            ax.grid(axis='y', alpha=0.3)
        fig.tight_layout()
        fig.savefig(osp.join(out, 'paired_differences.png'), dpi=120)
        plt.close(fig)

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
    for arm, label in zip(arms, labels):
        per_seed = []
        for seed in table[arm][HEADLINE[0]]:
            records = [r for r in scalar_records(osp.join(out, 'runs', arm, f's{seed}')) if 'cohort/member_0/top1' in r]
            per_seed.append([(r['step'], (r['cohort/member_0/top1'] + r['cohort/member_1/top1']) / 2) for r in records])
        steps = [s for s, _ in per_seed[0]]
        ax_acc.plot(
            steps, [statistics.mean(run[k][1] for run in per_seed) for k in range(len(steps))],
            marker='o',
            markersize=3,
            label=label)
    ax_acc.set(title='validation member-mean top-1 (%), mean over seeds', xlabel='epoch')
    mcl = [arm for arm in ('mcl', 'dml') if arm in arms]
    for arm, style in zip(mcl, ('-', '--')):
        first = next(iter(table[arm][HEADLINE[0]]))
        train = [r for r in scalar_records(osp.join(out, 'runs', arm, f's{first}')) if 'loss' in r]
        for key in ('loss_ce_m0', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl', 'loss_dml'):
            points = [(r['step'], r[key]) for r in train if key in r]
            if points:
                ax_loss.plot(*zip(*points), style, label=f'{arms[arm][0]}: {key[5:]}', linewidth=1)
    ax_loss.set(title=f'weighted loss terms (seed {seeds[0]})', xlabel='iteration', yscale='log')
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'curves.png'), dpi=120)
    plt.close(fig)


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
    mode_name = 'quick' if args.quick else 'full'
    mode = MODES[mode_name]
    known = OrderedDict(list(ARMS.items()) + list(ABLATIONS.items()))
    names = args.arms.split(',') if args.arms else list(ARMS) + (list(ABLATIONS) if args.ablation else [])
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f'unknown arm(s) {unknown}; choose from {list(known)}')
    arms = OrderedDict((n, known[n]) for n in names)
    seeds = list(range(args.seeds or mode['seeds']))
    out = osp.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    start = time.time()
    if not args.collect_only:
        world = 'two_digits' if mode_name == 'full' else 'two_digits_quick'
        data_root = osp.join(osp.abspath(args.workdir), 'data', 'study', world)
        generate_data(data_root, mode)
        try:
            arm_seeds = {k: int(v) for k, v in (item.split('=') for item in args.arm_seeds)}
        except ValueError:
            parser.error(f'--arm-seeds takes ARM=N items, got {args.arm_seeds}')
        run_jobs(
            plan(arms, seeds, mode['epochs'], data_root, out, args.skip_finished, arm_seeds), osp.join(out, 'logs'),
            ROOT, args.jobs, 'study')
        timing = osp.join(out, 'timing.json')
        earlier = json.load(open(timing))['minutes'] if args.skip_finished and osp.exists(timing) else 0.0
        with open(timing, 'w') as f:
            json.dump(dict(minutes=earlier + (time.time() - start) / 60, jobs=args.jobs), f)
    minutes = json.load(open(osp.join(out, 'timing.json')))['minutes'] if osp.exists(osp.join(out, 'timing.json')) \
        else math.nan
    table = collect(arms, seeds, out)
    text = markdown(table, arms, seeds, mode, minutes, mode_name)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    plot(table, arms, seeds, out)
    print('\n' + text)
    if args.docs:
        import shutil
        os.makedirs(args.docs, exist_ok=True)
        for name in ('results.md', 'results.csv', 'accuracy.png', 'paired_differences.png', 'curves.png'):
            if osp.exists(osp.join(out, name)):
                shutil.copy(osp.join(out, name), osp.join(args.docs, name))
    print(f'[study] written to {out}' + (f' and {args.docs}' if args.docs else ''))


if __name__ == '__main__':
    main()
