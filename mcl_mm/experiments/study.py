"""The evidence study: what do MCL and L-MCL buy over independent training and over DML, measured with enough
seeds to see it? Every run is an ordinary tools/train.py run of a config in configs/study/ (see tools/study.py).

1. generates (once; cached) the two-digit world: the 100 numbers 00-99 composed from scikit-learn's
   handwritten digits, 32 px, train and val from disjoint writers, in several draws (the generator's seed: which
   writers, digits and crops make up the images);
2. trains every arm (by default independent, DML and MCL; MCL + logit KD, L-MCL v2 and, with ``ablation``, MCL
   with single terms switched off on request) for every seed of every draw, identical data, schedule and
   hyper-parameters. Draw ``w`` uses the training seeds ``w * seeds ... (w + 1) * seeds - 1``, so every run of
   an arm is a separate replicate and a seed names its draw;
3. evaluates each final checkpoint on the training images too (is training saturated?);
4. writes results.md, results.csv (``arm,seed,metric,value``; ``world_draws.json`` maps seeds to draws),
   accuracy / paired-difference / curve plots; the paired per-seed difference of each arm to independent
   training and to DML with a 95 % t interval, per draw and pooled over the draws.
"""
import csv
import json
import math
import os
import os.path as osp
import shutil
import statistics
import sys
import time
from collections import OrderedDict
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

from mcl_mm.utils.errors import RunRecordError, ToolInputError
from mcl_mm.utils.logs import scalar_records
from mcl_mm.utils.owned_folders import claim_folder
from mcl_mm.utils.paths import project_root
from .common import cached_world, check_disjoint_draws, finished, run_plan, schedule_options, select_draws
from .jobs import Job, host_description
from .report import (markdown_table, paired_difference_plot, paired_table, restrict_seeds, seed_rows, seed_scatter,
                     write_long_csv)

ROOT = project_root()

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
DEFAULT_ARMS = ('independent', 'dml', 'mcl')
# Sizes of the world and of each run: full / --quick (a pipeline check, not a measurement). ``seeds`` is per draw.
MODES = {
    'full':
    dict(train_per_class=25, val_per_class=15, epochs=30, seeds=5, world_draws=2),
    # quick, a pipeline check: L-MCL v2's second-order meta step with one look-ahead update on batches of 16
    'quick':
    dict(
        train_per_class=2,
        val_per_class=1,
        epochs=2,
        seeds=1,
        world_draws=2,
        options={
            'lmcl_v2':
            ['model.meta.times=1', 'train_dataloader.batch_size=16', 'train_dataloader.sampler.batch_size=16']
        }),
}
METRICS = OrderedDict([
    ('val/member_mean/top1', 'member mean top-1'),
    ('val/ensemble/top1', 'ensemble top-1'),
    ('val/member_0/top1', 'member 0 top-1'),
    ('val/member_1/top1', 'member 1 top-1'),
    ('train/member_mean/top1', 'train member mean top-1'),
])
HEADLINE = ('val/member_mean/top1', 'val/ensemble/top1')
# A member below this validation top-1 (%) never left chance (1 % on 100 classes): counted, never dropped.
FAILED_BELOW = 5.0


def seeds_of_draws(world_draws: int, seeds: int) -> 'OrderedDict[int, List[int]]':
    """draw -> its training seeds: draw ``w`` trains with seeds ``w * seeds ... (w + 1) * seeds - 1``."""
    return OrderedDict((w, list(range(w * seeds, (w + 1) * seeds))) for w in range(world_draws))


def load_results(results_csv: str) -> Tuple['OrderedDict[int, List[int]]', List[dict]]:
    """An earlier invocation's tables: (draw -> seeds from the world_draws.json beside it, the results.csv rows).
    Read before anything is trained or written, so a wrong file fails at once."""
    mapping = osp.join(osp.dirname(osp.abspath(results_csv)), 'world_draws.json')
    if not (osp.isfile(results_csv) and osp.isfile(mapping)):
        raise ToolInputError(f'--merge-results {results_csv}: needs a results.csv written by tools/study.py and '
                             f'the world_draws.json beside it ({mapping})')
    earlier = OrderedDict((int(k.split()[-1]), v) for k, v in json.load(open(mapping)).items())
    with open(results_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    if not rows or set(rows[0]) != {'arm', 'seed', 'metric', 'value'}:
        raise ToolInputError(f'--merge-results {results_csv}: not an arm,seed,metric,value table')
    return earlier, rows


def merge_earlier(table, draws: 'OrderedDict[int, List[int]]', earlier: 'OrderedDict[int, List[int]]',
                  rows: List[dict]) -> 'OrderedDict[int, List[int]]':
    """Add the draws an earlier invocation tabulated (:func:`load_results`) to ``table`` in place, so that a
    study can be run one draw per session and still be pooled; returns every draw with its seeds. A draw in
    both is an error: which of the two is meant cannot be known."""
    check_disjoint_draws(draws, earlier)
    seeds = {seed for values in earlier.values() for seed in values}
    for row in rows:
        seed = int(row['seed'])
        if row['arm'] in table and row['metric'] in METRICS and seed in seeds:
            table[row['arm']][row['metric']][seed] = float(row['value'])
    for arm in table:  # seeds in draw order, as collect() leaves them
        for metric, values in table[arm].items():
            table[arm][metric] = OrderedDict(sorted(values.items()))
    return OrderedDict(sorted(list(draws.items()) + list(earlier.items())))


def world_root(workdir: str, mode_name: str, draw: int) -> str:
    """Where draw ``draw`` of the world is generated (draw 0 keeps the first study's folder name)."""
    name = 'two_digits' if mode_name == 'full' else 'two_digits_quick'
    return osp.join(osp.abspath(workdir), 'data', 'study', name + (f'_w{draw}' if draw else ''))


def generate_data(data_root: str, mode: dict, draw: int = 0) -> None:
    """Draw ``draw`` of the two-digit world (the generator's seed); skipped when the same spec was generated
    before."""
    from mcl_mm.experiments.world import TWO_DIGIT_WORLD, make_digit_classification_folder
    spec = dict(
        version=1,
        digits_per_image=2,
        image_size=32,
        seed=draw,
        **TWO_DIGIT_WORLD,
        **{k: mode[k]
           for k in ('train_per_class', 'val_per_class')})
    cached_world(
        data_root, spec, lambda: make_digit_classification_folder(
            data_root,
            train_per_class=mode['train_per_class'],
            val_per_class=mode['val_per_class'],
            image_size=32,
            seed=draw,
            digits_per_image=2,
            **TWO_DIGIT_WORLD), 'study')


def plan(arms: 'OrderedDict[str, tuple]',
         draws: 'OrderedDict[int, Tuple[str, List[int]]]',
         epochs: int,
         out: str,
         skip_finished: bool = False,
         arm_seeds: Optional[Dict[str, int]] = None,
         mode_options: Optional[Dict[str, List[str]]] = None) -> List[Job]:
    """The training and train-set evaluation jobs, one pair per arm and seed (``draws``: draw -> (its data root,
    its seeds)); ``skip_finished`` leaves out runs that already finished, ``arm_seeds`` caps the number of seeds
    of some arms in every draw (``{'lmcl_v2': 3}``: the first 3 of each draw), ``mode_options`` adds
    --cfg-options to some arms' training runs."""
    mode_options = mode_options or {}
    py, train, test = sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, 'tools', 'test.py')
    schedule = schedule_options(epochs)  # the configs' 5 warm-up epochs, shortened only for --quick
    jobs = []
    for draw, (data_root, seeds) in draws.items():
        for rank, seed in enumerate(seeds):
            for arm, (_, config, options, cost) in arms.items():
                work = run_dir(out, arm, draw, seed)
                if (skip_finished and run_finished(work)) or rank >= (arm_seeds or {}).get(arm, len(seeds)):
                    continue
                # A run that trained but was stopped before its train-set evaluation keeps its training.
                trained = skip_finished and run_trained(work, epochs)
                if not trained:
                    jobs.append(
                        Job(f'{arm}/s{seed}', [
                            py, train,
                            osp.join(ROOT, config), '--work-dir', work, '--cfg-options', f'data_root={data_root}',
                            f'randomness.seed={seed}', *schedule, *options, *mode_options.get(arm, [])
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
                        deps=[] if trained else [f'{arm}/s{seed}']))
    return jobs


def run_dir(out: str, arm: str, draw: int, seed: int) -> str:
    """The work dir of one training run of the study: ``<out>/runs/<arm>/w<draw>/s<seed>``."""
    return osp.join(out, 'runs', arm, f'w{draw}', f's{seed}')


def run_trained(work_dir: str, epochs: int) -> bool:
    """The run validated at its last epoch and its final checkpoint is there (its train-set evaluation may not
    have run yet)."""
    return finished(work_dir, ['cohort/ensemble/top1']) and osp.isfile(osp.join(work_dir, f'epoch_{epochs}.pth'))


def run_finished(work_dir: str) -> bool:
    """The run validated at its last epoch and its final checkpoint was evaluated on the training images."""
    if not (osp.isdir(osp.join(work_dir, 'train_eval')) and finished(work_dir, ['cohort/ensemble/top1'])):
        return False
    try:
        return bool(_test_metrics(osp.join(work_dir, 'train_eval')))
    except (RunRecordError, OSError):
        return False


def _test_metrics(work_dir: str) -> Dict[str, float]:
    """The metrics tools/test.py logged (mmengine writes them to <work_dir>/<timestamp>/<timestamp>.json)."""
    found = {}
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, f'{stamp}.json')
        if osp.exists(path):
            found = json.load(open(path))
    if not found:
        raise RunRecordError(f'no test metrics in {work_dir}')
    return found


def run_metrics(work_dir: str) -> Dict[str, float]:
    """One run's metrics: the last validation of the training run, and the train-set evaluation."""
    val = [r for r in scalar_records(work_dir) if 'cohort/ensemble/top1' in r]
    if not val:
        raise RunRecordError(f'{work_dir} has no validation record')
    last, train = val[-1], _test_metrics(osp.join(work_dir, 'train_eval'))
    metrics = {}
    for split, record in (('val', last), ('train', train)):
        members = [record[f'cohort/member_{i}/top1'] for i in range(2)]
        metrics.update({f'{split}/member_{i}/top1': v for i, v in enumerate(members)})
        metrics[f'{split}/member_mean/top1'] = statistics.mean(members)
        metrics[f'{split}/ensemble/top1'] = record['cohort/ensemble/top1']
    return metrics


def draw_of(draws: 'OrderedDict[int, List[int]]') -> Dict[int, int]:
    """seed -> its world draw."""
    return {seed: draw for draw, seeds in draws.items() for seed in seeds}


def collect(arms: 'OrderedDict[str, tuple]', draws: 'OrderedDict[int, List[int]]',
            out: str) -> Dict[str, Dict[str, Dict]]:
    """arm -> metric -> {seed: value} over the runs that finished (an unfinished one is named and left out;
    ``draws``: draw -> its seeds); writes results.csv (``arm,seed,metric,value``) and world_draws.json."""
    table = OrderedDict((arm, OrderedDict((m, OrderedDict()) for m in METRICS)) for arm in arms)
    for arm in arms:
        for draw, seeds in draws.items():
            for seed in seeds:
                work_dir = run_dir(out, arm, draw, seed)
                if not run_finished(work_dir):
                    print(f'[study] {arm} draw {draw} seed {seed}: no finished run in {work_dir}; left out')
                    continue
                metrics = run_metrics(work_dir)
                for key in METRICS:
                    table[arm][key][seed] = metrics[key]
    empty = [arm for arm in arms if not table[arm][HEADLINE[0]]]
    if empty:
        raise RunRecordError(f'no finished run for {empty} in {out}/runs')
    write_results(table, draws, out)
    return table


def write_results(table, draws: 'OrderedDict[int, List[int]]', out: str) -> None:
    """results.csv (``arm,seed,metric,value``) and world_draws.json (draw -> its seeds)."""
    write_long_csv(table, osp.join(out, 'results.csv'))
    with open(osp.join(out, 'world_draws.json'), 'w') as f:
        json.dump({f'draw {draw}': seeds for draw, seeds in draws.items()}, f)


def failed_members(table, below: float = FAILED_BELOW) -> 'OrderedDict[str, List[Tuple[int, int, float]]]':
    """arm -> (seed, member, val top-1) of every member that ended below ``below`` % (stayed at chance)."""
    failed = OrderedDict()
    for arm, metrics in table.items():
        failed[arm] = sorted((seed, i, value) for i in range(2)
                             for seed, value in metrics[f'val/member_{i}/top1'].items() if value < below)
    return failed


def _failed_lines(table, labels, draws: 'OrderedDict[int, List[int]]') -> List[str]:
    """results.md's count of members that never left chance, per arm and draw, naming each."""
    failed = failed_members(table)
    rows = []
    for arm, members in failed.items():
        cells = []
        for draw, seeds in draws.items():
            runs = [s for s in seeds if s in table[arm][HEADLINE[0]]]
            named = [f'seed {s} member {i}: {v:.2f} %' for s, i, v in members if s in seeds]
            cells.append(f'{len(named)} of {2 * len(runs)}' + (f' ({"; ".join(named)})' if named else ''))
        rows.append(f'| {labels[arm]} | ' + ' | '.join(cells) + ' |')
    header = '| arm | ' + ' | '.join(f'draw {d}' for d in draws) + ' |'
    return [
        f'Members that never left chance (validation top-1 below {FAILED_BELOW:g} %; chance is 1 %). They stay in '
        'every table above; the ensemble of a pair with one such member is its live member.', '', header,
        '|' + '---|' * (len(draws) + 1), *rows, ''
    ]


def markdown(table,
             arms,
             draws: 'OrderedDict[int, List[int]]',
             mode: dict,
             minutes: float,
             mode_name: str,
             merged: Optional[Tuple[List[int], str]] = None) -> str:
    """results.md; ``merged``: (draws, file) taken from an earlier invocation's results.csv."""
    labels = {arm: spec[0] for arm, spec in arms.items()}
    draw_text = '; '.join(f'draw {d}: seeds {", ".join(map(str, s))}' for d, s in draws.items())
    merged_text = ''
    if merged and merged[0]:
        merged_text = (f' Draw(s) {", ".join(map(str, merged[0]))} come from an earlier invocation\'s '
                       f'`{merged[1]}` (`--merge-results`); the minutes are this invocation\'s.')
    lines = [
        f'# MCL evidence study: results ({mode_name} mode)', '',
        f'Written by `python tools/study.py` on {time.strftime("%Y-%m-%d")}: {len(draws)} draw(s) of the world '
        f'(the generator\'s seed), {draw_text} (n: the runs that finished), {mode["epochs"]} epochs, '
        f'{minutes:.0f} min on {host_description()}.{merged_text} World: the 100 two-digit numbers, '
        f'{mode["train_per_class"]} training images per class, top-1 (%) on {100 * mode["val_per_class"]} images '
        'of held-out writers at the last epoch; "train" is the final checkpoint evaluated on the training images '
        '(test pipeline). Mean ± std over every seed of every draw.', '',
        markdown_table(seed_rows(table, labels), METRICS, first_column='arm')
    ]
    headline = OrderedDict((m, METRICS[m]) for m in HEADLINE)
    views = [(f'draw {d} (seeds {s[0]}–{s[-1]})', restrict_seeds(table, s)) for d, s in draws.items()]
    if len(draws) > 1:
        views.append((f'pooled over the {len(draws)} draws', table))
    for reference in ('independent', 'dml'):
        if reference not in table:
            continue
        lines += [
            f'Paired per-seed difference to {labels[reference]} (a seed fixes the members\' initial weights and the '
            'batch order in every arm; the draw fixes the images), mean [95 % t interval] (n seeds):', ''
        ]
        for title, view in views:
            lines += [
                f'*{title}*', '',
                paired_table(
                    view, [(arm, reference) for arm in arms if arm != reference],
                    headline,
                    labels,
                    per_seed_column=HEADLINE[0])
            ]
    lines += _failed_lines(table, labels, draws)
    lines += [
        '![accuracy](accuracy.png)', '', '![paired differences](paired_differences.png)', '', '![curves](curves.png)',
        ''
    ]
    return '\n'.join(lines)


def plot(table,
         arms,
         draws: 'OrderedDict[int, List[int]]',
         out: str,
         trained: Optional['OrderedDict[int, List[int]]'] = None) -> None:
    """accuracy.png (every seed, mean ± std), paired_differences.png (arm - independent, 95 % CI, pooled over
    the draws) and curves.png (validation top-1 per epoch, mean over the seeds whose runs are in ``out``:
    ``trained``, default all; the loss terms of the first seed)."""
    labels = {arm: spec[0] for arm, spec in arms.items()}
    headline = OrderedDict((m, METRICS[m] + ' (%)') for m in HEADLINE)
    seed_scatter(table, labels, headline, osp.join(out, 'accuracy.png'))
    if 'independent' in arms and len(arms) > 1:
        paired_difference_plot(table, [(arm, 'independent') for arm in arms if arm != 'independent'], headline, labels,
                               osp.join(out, 'paired_differences.png'))
    _curves(table, arms, draw_of(trained or draws), out)


def _curves(table, arms, draw: Dict[int, int], out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
    for arm, (label, *_) in arms.items():
        per_seed = []
        for seed in [s for s in table[arm][HEADLINE[0]] if s in draw]:
            records = [r for r in scalar_records(run_dir(out, arm, draw[seed], seed)) if 'cohort/member_0/top1' in r]
            per_seed.append([(r['step'], (r['cohort/member_0/top1'] + r['cohort/member_1/top1']) / 2) for r in records])
        if not per_seed:
            continue
        steps = [s for s, _ in per_seed[0]]
        ax_acc.plot(
            steps, [statistics.mean(run[k][1] for run in per_seed) for k in range(len(steps))],
            marker='o',
            markersize=3,
            label=label)
    ax_acc.set(title='validation member-mean top-1 (%), mean over seeds', xlabel='epoch')
    first = None
    for arm, style in zip([arm for arm in ('mcl', 'dml') if arm in arms], ('-', '--')):
        first = next((s for s in table[arm][HEADLINE[0]] if s in draw), None)
        if first is None:
            continue
        train = [r for r in scalar_records(run_dir(out, arm, draw[first], first)) if 'loss' in r]
        for key in ('loss_ce_m0', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl', 'loss_dml'):
            points = [(r['step'], r[key]) for r in train if key in r]
            if points:
                ax_loss.plot(*zip(*points), style, label=f'{arms[arm][0]}: {key[5:]}', linewidth=1)
    ax_loss.set(title=f'weighted loss terms (seed {first})', xlabel='iteration', yscale='log')
    for ax in (ax_acc, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(osp.join(out, 'curves.png'), dpi=120)
    plt.close(fig)


def select_arms(names: Optional[str], ablation: bool) -> 'OrderedDict[str, tuple]':
    """``'mcl,dml'`` (or None: the default arms, plus the ablations with ``ablation``) -> arm -> spec."""
    known = OrderedDict(list(ARMS.items()) + list(ABLATIONS.items()))
    chosen = names.split(',') if names else list(DEFAULT_ARMS) + (list(ABLATIONS) if ablation else [])
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ToolInputError(f'unknown arm(s) {unknown}; choose from {list(known)}')
    return OrderedDict((n, known[n]) for n in chosen)


def parse_arm_seeds(items: Sequence[str]) -> Dict[str, int]:
    """``--arm-seeds lmcl_v2=3,...`` as ``{arm: number of seeds}``; a ToolInputError for anything else."""
    try:
        return {k: int(v) for k, v in (item.split('=') for item in items)}
    except ValueError:
        raise ToolInputError(f'--arm-seeds takes ARM=N items, got {list(items)}') from None


def _minutes_spent(timing: str, draws: List[int]) -> float:
    """Minutes earlier invocations spent on the same draws in this output folder (a resumed run adds to them;
    another draw's invocation, e.g. ``--draws 1`` after draw 0, starts its own count)."""
    if not osp.exists(timing):
        return 0.0
    record = json.load(open(timing))
    return record['minutes'] if record.get('draws', draws) == draws else 0.0


def run_study(out: str,
              arms: Optional[str] = None,
              ablation: bool = False,
              quick: bool = False,
              seeds: Optional[int] = None,
              world_draws: Optional[int] = None,
              jobs: int = 2,
              docs: Optional[str] = None,
              workdir: str = ROOT,
              arm_seeds: Sequence[str] = (),
              skip_finished: bool = False,
              collect_only: bool = False,
              draws: Optional[str] = None,
              merge_results: Optional[str] = None) -> str:
    """Generate the world, train the plan, tabulate and plot; returns the results markdown (tools/study.py
    documents each argument)."""
    mode_name = 'quick' if quick else 'full'
    mode = MODES[mode_name]
    chosen = select_arms(arms, ablation)
    only = draws
    draws = select_draws(seeds_of_draws(world_draws or mode['world_draws'], seeds or mode['seeds']), only)
    earlier = load_results(merge_results) if merge_results else None  # fails now, not after hours of training
    if earlier:
        check_disjoint_draws(draws, earlier[0])
    capped = parse_arm_seeds(arm_seeds)
    out = osp.abspath(out)
    claim_folder(out, 'study')
    start = time.time()
    timing = osp.join(out, 'timing.json')
    if not collect_only:
        roots = OrderedDict((draw, (world_root(workdir, mode_name, draw), seeds)) for draw, seeds in draws.items())
        run_plan('study', out,
                 [partial(generate_data, data_root, mode, draw) for draw, (data_root, _) in roots.items()],
                 lambda: plan(chosen, roots, mode['epochs'], out, skip_finished, capped, mode.get('options')), jobs)
        spent = _minutes_spent(timing, list(draws)) if skip_finished else 0.0
        with open(timing, 'w') as f:
            json.dump(dict(minutes=spent + (time.time() - start) / 60, jobs=jobs, draws=list(draws)), f)
    minutes = json.load(open(timing))['minutes'] if osp.exists(timing) else math.nan
    table = collect(chosen, draws, out)
    reported = draws
    if earlier:
        reported = merge_earlier(table, draws, *earlier)
        write_results(table, reported, out)
    text = markdown(table, chosen, reported, mode, minutes, mode_name,
                    (list(earlier[0]), merge_results) if earlier else None)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    plot(table, chosen, reported, out, trained=draws)
    print('\n' + text)
    if docs:
        os.makedirs(docs, exist_ok=True)
        for name in ('results.md', 'results.csv', 'world_draws.json', 'accuracy.png', 'paired_differences.png',
                     'curves.png'):
            if osp.exists(osp.join(out, name)):
                shutil.copy(osp.join(out, name), osp.join(docs, name))
    print(f'[study] written to {out}' + (f' and {docs}' if docs else ''))
    return text
