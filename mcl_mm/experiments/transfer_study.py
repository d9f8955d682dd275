"""The transfer study: is a backbone pretrained with MCL a better start for detection and segmentation than one
trained independently or with DML? Every run is an ordinary tools/train.py run of a config in configs/demo/.

1. generates (once; cached) draws of the demo's world (:func:`seeds_of_draws`; every generator of draw ``d``
   seeded by ``d``): the two-digit numbers at 64 px for pretraining, and Pascal VOC format detection and
   segmentation scenes plus a single-digit image folder (tasks the pretraining never saw), evaluation splits from
   held-out writers;
2. pretrains each arm (independent, DML, MCL: ResNet-18 at 1/4 width x 2, the in-batch recipe of the evidence
   study; identical data, schedule and hyper-parameters, only the objective differs) for every seed of every
   draw, and extracts member 0;
3. starts every downstream task from member 0 of every pretrained cohort and from random weights, ``repeats``
   times (fine-tune seed ``seed + 1000 * repeat``, the same for every initialisation, so the comparison is
   paired): Faster R-CNN (VOC mAP) and FCN (mIoU) fine-tuned, the same two with the backbone frozen
   (``frozen_stages=4``: weights and batch-norm statistics fixed, heads trained) and a linear probe, each config
   run as it is (the recipes calibrated by :mod:`~mcl_mm.experiments.transfer_calibration`);
4. writes results.md, results.csv (``arm,draw,seed,metric,value``; downstream values are means over the repeats),
   repeats.csv (every fine-tune), paired per-seed differences with 95 % t intervals pooled over the draws and per
   draw (``--draws`` / ``--merge-results``: one draw per invocation, pooled), the split of each difference's
   variance into pretraining-seed and fine-tune parts with the half-width other budgets would reach, and plots.
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
from functools import lru_cache, partial
from typing import List, Optional, Sequence, Tuple

from mcl_mm.utils.errors import RunRecordError, ToolInputError
from mcl_mm.utils.logs import last_metrics
from mcl_mm.utils.owned_folders import claim_folder
from mcl_mm.utils.paths import project_root
from .common import (check_disjoint_draws, finetune_schedule, finished, generate_demo_world, run_plan, schedule_options,
                     select_draws)
from .jobs import Job, host_description
from .report import (markdown_table, paired_difference_plot, paired_table, restrict_seeds, seed_rows, seed_scatter,
                     t_quantile_975)

ROOT = project_root()

# arm -> (label, pretraining config); every arm inherits the MCL config and changes only its objective.
ARMS = OrderedDict([
    ('independent', ('independent', 'configs/demo/independent_resnet18w16x2_1xb64-15e_two-digits.py')),
    ('dml', ('DML', 'configs/demo/dml_resnet18w16x2_1xb64-15e_two-digits.py')),
    ('mcl', ('MCL', 'configs/demo/mcl_resnet18w16x2_1xb64-15e_two-digits.py')),
])
INITS = list(ARMS) + ['random']
LABELS = dict({arm: spec[0] for arm, spec in ARMS.items()}, random='random init')
FROZEN = ['model.backbone.frozen_stages=4']
# task -> (config, extra --cfg-options, logged metric, scale to %, column label)
TASKS = OrderedDict([
    ('voc_det', ('configs/demo/faster-rcnn_r18w16_fpn_digits-voc0712.py', [], 'pascal_voc/mAP', 100, 'VOC mAP')),
    ('voc_seg', ('configs/demo/fcn_r18w16-d8_digits-voc12.py', [], 'mIoU', 1, 'mIoU')),
    ('voc_det_frozen', ('configs/demo/faster-rcnn_r18w16_fpn_digits-voc0712.py', FROZEN, 'pascal_voc/mAP', 100,
                        'VOC mAP, frozen backbone')),
    ('voc_seg_frozen', ('configs/demo/fcn_r18w16-d8_digits-voc12.py', FROZEN, 'mIoU', 1, 'mIoU, frozen backbone')),
    ('probe', ('configs/demo/linear_resnet18w16_1xb64-20e_digits.py', [], 'accuracy/top1', 1,
               'linear-probe top-1 (single digits)')),
])
DEFAULT_TASKS = list(TASKS)
# Speed or final quality: the fine-tunes at 2x / 3x their configured budget (--tasks voc_det_x2,voc_seg_x3, ...),
# the lr schedule stretched with it (:func:`budget_options`).
BUDGET_SCALES = (2, 3)
for _scale in BUDGET_SCALES:
    for _task in ('voc_det', 'voc_seg'):
        _config, _, _metric, _to_percent, _label = TASKS[_task]
        TASKS[f'{_task}_x{_scale}'] = (_config, [], _metric, _to_percent, f'{_label}, {_scale}× budget')


def base_task(task: str) -> str:
    """The config family of a task: ``voc_det`` for ``voc_det``, ``voc_det_frozen`` and ``voc_det_x2``."""
    return task.split('_x')[0].replace('_frozen', '')


def budget_of(task: str) -> int:
    """How many times its configured budget a task runs (``voc_seg_x3``: 3)."""
    return int(task.split('_x')[1]) if '_x' in task else 1


PRETRAIN_METRICS = OrderedDict([('pretrain/member_0/top1', 'member 0 top-1'),
                                ('pretrain/member_mean/top1', 'member mean top-1'),
                                ('pretrain/ensemble/top1', 'ensemble top-1')])
PAIRS = [('mcl', 'independent'), ('mcl', 'dml'), ('dml', 'independent'), ('mcl', 'random'), ('independent', 'random')]
# The world's sizes (as tools/demo.py takes them) and the pretraining budget: full / --quick (a pipeline check,
# which also shortens the fine-tunes; full runs every fine-tune config as it is).
MODES = {
    'full': dict(two_digits=(25, 15), digits_cls=(200, 40), coco=(0, 0), voc=(48, 40, 48), seg=(120, 120),
                 pre_epochs=15, seeds=5, repeats=1, world_draws=2),
    'quick': dict(two_digits=(2, 1), digits_cls=(24, 10), coco=(0, 0), voc=(4, 4, 4), seg=(8, 4),
                  pre_epochs=2, det_epochs=1, seg_iters=4, seg_warmup=1,
                  shorten_finetunes=True, probe_epochs=1, seeds=1, repeats=1, world_draws=1),
}  # yapf: disable


@lru_cache(maxsize=None)
def configured(task: str) -> dict:
    """What ``task``'s config itself sets: lr, warm-up end, budget (epochs or iterations), lr steps, BN mode."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, TASKS[task][0]))
    schedulers = cfg.param_scheduler if isinstance(cfg.param_scheduler, list) else [cfg.param_scheduler]
    warmup, main = schedulers[0] if len(schedulers) > 1 else None, schedulers[-1]
    by_epoch = cfg.train_cfg.get('type', 'EpochBasedTrainLoop') != 'IterBasedTrainLoop'
    return dict(
        lr=cfg.optim_wrapper.optimizer.lr,
        warmup_end=warmup.end if warmup else 0,
        length=cfg.train_cfg.max_epochs if by_epoch else cfg.train_cfg.max_iters,
        by_epoch=by_epoch,
        milestones=list(main.get('milestones', [])),
        bn='norm_eval' if cfg.model.backbone.get('norm_eval', False) else 'trained')


def base_schedule(task: str, mode: dict) -> dict:
    """The schedule a budget scales: the config's own, or in a --quick mode (``shorten_finetunes``) the mode's
    budget with the warm-up and lr steps kept inside it."""
    base = dict(configured(task))
    if mode.get('shorten_finetunes'):
        length = dict(voc_seg=mode['seg_iters'], probe=mode['probe_epochs']).get(task, mode['det_epochs'])
        base.update(length=length, milestones=[min(m, length) for m in base['milestones']])
        if task == 'voc_seg':  # an iteration-based warm-up must end inside the shortened run
            base['warmup_end'] = min(base['warmup_end'], mode['seg_warmup'])
    return base


def budget_options(task: str, budget: int, mode: dict, warmup: int = 1) -> List[str]:
    """--cfg-options running ``task``'s config (``voc_det`` / ``voc_seg``) ``budget`` times as long, the lr
    schedule stretched with it (steps at the same fractions), and the warm-up ``warmup`` times as long."""
    base = base_schedule(task, mode)
    warmup_end = base['warmup_end'] * warmup
    length = base['length'] * budget
    options = [f'param_scheduler.0.end={warmup_end}', f'param_scheduler.1.end={length}']
    if base['by_epoch']:
        steps = ','.join(str(m * budget) for m in base['milestones'])
        options += [f'train_cfg.max_epochs={length}', f'param_scheduler.1.milestones=[{steps}]']
    else:
        options += [f'train_cfg.max_iters={length}', f'param_scheduler.1.begin={warmup_end}']
    return options + [f'train_cfg.val_interval={length}', f'default_hooks.checkpoint.interval={length}']


def finetune_seed(seed: int, repeat: int) -> int:
    """The fine-tune seed of repeat ``repeat`` of pretraining seed ``seed`` (the same for every initialisation)."""
    return seed + 1000 * repeat


def _data_options(task: str, data_root: str) -> List[str]:
    """Point a demo config at this study's copy of the world (tools/train.py re-roots every derived path)."""
    if task == 'probe':
        return [f'data_root={data_root}/digits_cls']
    return [
        f'data_root={data_root}/VOCdevkit/VOC2012'
        if task.startswith('voc_seg') else f'data_root={data_root}/VOCdevkit/'
    ]


def world_root(workdir: str, quick: bool, draw: int) -> str:
    """Where draw ``draw`` of the transfer study's world is generated (draw 0 keeps the first study's folder)."""
    name = 'study_transfer' + ('_quick' if quick else '') + (f'_w{draw}' if draw else '')
    return osp.join(osp.abspath(workdir), 'data', name)


def backbone_path(out: str, arm: str, seed: int) -> str:
    """Member 0 of a pretrained cohort, as tools/model_converters/extract_backbone.py writes it."""
    return osp.join(out, 'backbones', f'{arm}_s{seed}', 'member0.pth')


def finetune_dir(out: str, task: str, init: str, seed: int, repeat: int) -> str:
    """The work dir of one fine-tune of the transfer study."""
    return osp.join(out, 'finetune', task, init, f's{seed}', f'r{repeat}')


def pretrain_jobs(arm: str,
                  seed: int,
                  mode: dict,
                  data_root: str,
                  out: str,
                  skip_finished: bool = False) -> Tuple[List[Job], bool]:
    """Pretraining arm ``arm`` with seed ``seed`` and extracting its member 0: (the jobs still to run, whether the
    extracted backbone is already there from a finished run — then no job is returned)."""
    py, train = sys.executable, osp.join(ROOT, 'tools', 'train.py')
    extract = osp.join(ROOT, 'tools', 'model_converters', 'extract_backbone.py')
    work = osp.join(out, 'pretrain', arm, f's{seed}')
    pretrain = Job(
        f'pretrain/{arm}/s{seed}',
        [
            py, train,
            osp.join(ROOT, ARMS[arm][1]), '--work-dir', work, '--cfg-options', f'data_root={data_root}/two_digits',
            f'randomness.seed={seed}', *schedule_options(mode['pre_epochs'])
        ],
        cost=2.4 * mode['pre_epochs'] / 15,  # minutes on one core (the demo's, measured), for the ETA
        work_dir=work)
    pretrained = skip_finished and finished(work, ['cohort/ensemble/top1'])
    extraction = Job(
        f'extract/{arm}/s{seed}', [
            py, extract,
            osp.join(work, f'epoch_{mode["pre_epochs"]}.pth'),
            backbone_path(out, arm, seed), '--member', '0'
        ],
        cost=0.3,
        deps=[] if pretrained else [pretrain.tag],
        work_dir=osp.dirname(backbone_path(out, arm, seed)))
    if pretrained and osp.exists(backbone_path(out, arm, seed)):
        return [], True
    return ([] if pretrained else [pretrain]) + [extraction], False


def finetune_job(task: str,
                 init: str,
                 seed: int,
                 work: str,
                 tag: str,
                 data_root: str,
                 out: str,
                 options: Sequence[str],
                 deps: Sequence[str],
                 tune_seed: Optional[int] = None) -> Job:
    """One fine-tune of ``task``'s config from member 0 of ``init`` pretrained with ``seed`` (or random weights),
    with fine-tune seed ``tune_seed`` (default ``seed``); ``options``: further --cfg-options (the frozen
    backbone, a calibration recipe)."""
    config = TASKS[task][0]
    if init == 'random':
        init_opts = ['model.backbone.init_cfg=None']
    else:
        init_opts = [
            f'model.backbone.init_cfg.checkpoint={backbone_path(out, init, seed)}',
            'model.backbone.init_cfg.prefix=None'
        ]
    return Job(
        tag, [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            osp.join(ROOT, config), '--work-dir', work, '--cfg-options',
            f'randomness.seed={seed if tune_seed is None else tune_seed}', *init_opts, *_data_options(task, data_root),
            *options
        ],
        cost=FINETUNE_COST[base_task(task)] * budget_of(task),
        deps=list(deps),
        work_dir=work)


# Minutes of one fine-tune at the configured budget, two at a time on 2 cores (measured 2026-12-07 with the
# calibrated configs; for the ETA).
FINETUNE_COST = {'voc_det': 1.6, 'voc_seg': 3.4, 'probe': 0.5}


def seeds_of_draws(world_draws: int, seeds: int) -> 'OrderedDict[int, List[int]]':
    """draw -> its pretraining seeds. The measurement draws are 1, 2, ... (draw 0 is the world of the superseded
    2026-12-04 study, draw 100 the calibration's): draw ``d`` pretrains with seeds ``(d - 1) * seeds ... d * seeds
    - 1``, so that no seed is in two draws."""
    return OrderedDict((d, list(range((d - 1) * seeds, d * seeds))) for d in range(1, world_draws + 1))


def stretch(task: str, mode: dict) -> List[str]:
    """--cfg-options of a budget variant (``voc_det_x2``); none for the configured budget."""
    return budget_options(base_task(task), budget_of(task), mode) if budget_of(task) > 1 else []


def plan(mode: dict,
         draws: 'OrderedDict[int, Tuple[str, List[int]]]',
         repeats: int,
         tasks: Sequence[str],
         out: str,
         skip_finished: bool = False) -> List[Job]:
    """Pretraining, extraction and fine-tune jobs of every draw (``draws``: draw -> (its data root, its seeds));
    ``skip_finished`` leaves out the ones whose results exist (a dependency on a left-out job is dropped with
    it)."""
    jobs, ready = [], set()  # ready: backbones extracted by an earlier, finished invocation
    for data_root, seeds in draws.values():
        for seed in seeds:
            for arm in ARMS:
                todo, done = pretrain_jobs(arm, seed, mode, data_root, out, skip_finished)
                jobs += todo
                if done:
                    ready.add(f'extract/{arm}/s{seed}')
    for data_root, seeds in draws.values():
        for seed in seeds:
            for repeat in range(repeats):
                for task in tasks:
                    metric, options = TASKS[task][2], TASKS[task][1]
                    for init in INITS:
                        work = finetune_dir(out, task, init, seed, repeat)
                        deps = [] if init == 'random' else [f'extract/{init}/s{seed}']
                        # kept only when its backbone is the one it was trained from (not extracted again)
                        if skip_finished and all(d in ready for d in deps) and finished(work, [metric]):
                            continue
                        jobs.append(
                            finetune_job(task, init, seed, work, f'finetune/{task}/{init}/s{seed}/r{repeat}', data_root,
                                         out,
                                         [*options, *finetune_schedule(base_task(task), mode), *stretch(task, mode)],
                                         [d for d in deps if d not in ready], finetune_seed(seed, repeat)))
    return jobs


def collect(draws: 'OrderedDict[int, List[int]]', repeats: int, tasks: Sequence[str], out: str):
    """(per_seed, per_repeat) of the runs in ``out`` (``draws``: draw -> its seeds): per_seed = init -> metric
    -> {seed: value} (downstream: the mean over the repeats that finished); per_repeat = init -> metric -> {seed:
    [value per repeat]}."""
    seeds = [seed for values in draws.values() for seed in values]
    per_seed = OrderedDict((init, OrderedDict()) for init in INITS)
    per_repeat = OrderedDict((init, OrderedDict()) for init in INITS)
    for arm in ARMS:
        for seed in seeds:
            work = osp.join(out, 'pretrain', arm, f's{seed}')
            if not finished(work, ['cohort/ensemble/top1']):
                print(f'[transfer-study] pretraining {arm} seed {seed}: not finished in {work}; left out')
                continue
            found = last_metrics(work, [f'cohort/member_{i}/top1' for i in range(2)] + ['cohort/ensemble/top1'])
            values = {
                'pretrain/member_0/top1': found['cohort/member_0/top1'],
                'pretrain/member_mean/top1': (found['cohort/member_0/top1'] + found['cohort/member_1/top1']) / 2,
                'pretrain/ensemble/top1': found['cohort/ensemble/top1']
            }
            for key, value in values.items():
                per_seed[arm].setdefault(key, OrderedDict())[seed] = value
    for task in tasks:
        _, _, metric, scale, _ = TASKS[task]
        for init in INITS:
            for seed in seeds:
                values = []
                for repeat in range(repeats):
                    work = finetune_dir(out, task, init, seed, repeat)
                    if finished(work, [metric]):
                        values.append(last_metrics(work, [metric])[metric] * scale)
                if values:
                    per_repeat[init].setdefault(task, OrderedDict())[seed] = values
                    per_seed[init].setdefault(task, OrderedDict())[seed] = statistics.mean(values)
    if not any(per_seed[init] for init in INITS):
        raise RunRecordError(f'no finished run in {out}')
    return per_seed, per_repeat


RESULT_COLUMNS = ['arm', 'draw', 'seed', 'metric', 'value']
REPEAT_COLUMNS = ['arm', 'draw', 'seed', 'repeat', 'metric', 'value']


def write_results(per_seed, per_repeat, draws: 'OrderedDict[int, List[int]]', out: str) -> None:
    """results.csv (``arm,draw,seed,metric,value``) and repeats.csv (``arm,draw,seed,repeat,metric,value``)."""
    draw_of = {seed: draw for draw, seeds in draws.items() for seed in seeds}
    results = [[init, draw_of[seed], seed, metric, f'{value:.4f}'] for init, metrics in per_seed.items()
               for metric, values in metrics.items() for seed, value in sorted(values.items())]
    repeats = [[init, draw_of[seed], seed, r, task, f'{v:.4f}'] for init, metrics in per_repeat.items()
               for task, by_seed in metrics.items() for seed, values in sorted(by_seed.items())
               for r, v in enumerate(values)]
    for name, columns, rows in (('results.csv', RESULT_COLUMNS, results), ('repeats.csv', REPEAT_COLUMNS, repeats)):
        with open(osp.join(out, name), 'w', newline='') as f:
            csv.writer(f).writerows([columns] + rows)


def load_earlier(results_csv: str) -> Tuple['OrderedDict[int, List[int]]', List[dict], List[dict]]:
    """An earlier invocation's tables for --merge-results: (draw -> its seeds, results.csv rows, repeats.csv rows
    from beside it). Read before anything is trained, so that a wrong file fails at once."""
    repeats_csv = osp.join(osp.dirname(osp.abspath(results_csv)), 'repeats.csv')
    if not (osp.isfile(results_csv) and osp.isfile(repeats_csv)):
        raise ToolInputError(f'--merge-results {results_csv}: needs a results.csv written by tools/study.py '
                             f'--transfer and the repeats.csv beside it ({repeats_csv})')
    with open(results_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    with open(repeats_csv, newline='') as f:
        repeat_rows = list(csv.DictReader(f))
    if not rows or list(rows[0]) != RESULT_COLUMNS or (repeat_rows and list(repeat_rows[0]) != REPEAT_COLUMNS):
        raise ToolInputError(f'--merge-results {results_csv}: not a {",".join(RESULT_COLUMNS)} table (results of '
                             'the 2026-12-04 study, written before world draws, cannot be pooled)')
    draws = OrderedDict()
    for row in rows:
        seeds = draws.setdefault(int(row['draw']), [])
        if int(row['seed']) not in seeds:
            seeds.append(int(row['seed']))
    return OrderedDict((d, sorted(s)) for d, s in sorted(draws.items())), rows, repeat_rows


def merge_earlier(per_seed, per_repeat, draws: 'OrderedDict[int, List[int]]', earlier) -> 'OrderedDict[int, List[int]]':
    """Add the draws an earlier invocation tabulated (:func:`load_earlier`) to the tables in place, so that each
    draw can run in its own session and still be pooled; returns every draw with its seeds."""
    earlier_draws, rows, repeat_rows = earlier
    check_disjoint_draws(draws, earlier_draws)
    for row in rows:
        if row['arm'] in per_seed:
            per_seed[row['arm']].setdefault(row['metric'], OrderedDict())[int(row['seed'])] = float(row['value'])
    for row in repeat_rows:
        if row['arm'] in per_repeat:
            by_seed = per_repeat[row['arm']].setdefault(row['metric'], OrderedDict())
            by_seed.setdefault(int(row['seed']), []).append(float(row['value']))
    for table in (per_seed, per_repeat):
        for init in table:
            for metric, values in table[init].items():
                table[init][metric] = OrderedDict(sorted(values.items()))
    return OrderedDict(sorted(list(draws.items()) + list(earlier_draws.items())))


def variance_split(per_repeat, arm: str, reference: str, task: str) -> Optional[dict]:
    """The variance of the paired difference ``arm - reference`` (each side the mean of R fine-tunes) split into
    its fine-tune part and its pretraining-seed part, from seeds with R >= 2 repeats on both sides.

    fine-tune variance s2_ft: the pooled within-member variance of single fine-tunes (both sides, every seed);
    observed variance of the per-seed differences = s2_seed + 2 s2_ft / R, so s2_seed = max(0, observed - 2
    s2_ft / R). Returns {'sd_finetune', 'sd_seed', 'sd_difference', 'n', 'R'} or None without enough data."""
    a, b = per_repeat[arm].get(task, {}), per_repeat[reference].get(task, {})
    seeds = [s for s in a if s in b and len(a[s]) >= 2 and len(a[s]) == len(b[s])]
    if len(seeds) < 2:
        return None
    repeats = len(a[seeds[0]])
    if any(len(a[s]) != repeats for s in seeds):
        return None
    within = [statistics.variance(side[s]) for side in (a, b) for s in seeds]
    s2_ft = statistics.mean(within)
    differences = [statistics.mean(a[s]) - statistics.mean(b[s]) for s in seeds]
    observed = statistics.variance(differences)
    s2_seed = max(0.0, observed - 2 * s2_ft / repeats)
    return dict(
        sd_finetune=math.sqrt(s2_ft),
        sd_seed=math.sqrt(s2_seed),
        sd_difference=math.sqrt(observed),
        n=len(seeds),
        R=repeats)


def projected_half_width(split: dict, seeds: int, repeats: int) -> float:
    """The 95 % t half-width of the mean paired difference over ``seeds`` seeds with ``repeats`` fine-tunes per
    member, from a :func:`variance_split`."""
    variance = split['sd_seed']**2 + 2 * split['sd_finetune']**2 / repeats
    return t_quantile_975(seeds - 1) * math.sqrt(variance / seeds)


def power_table(per_repeat, tasks: Sequence[str], budgets: Sequence[Tuple[int, int]]) -> str:
    """Markdown: per task, the MCL - independent difference's SDs and the half-width of each (seeds, repeats)."""
    header = ['metric', 'SD fine-tune', 'SD pretraining seed', 'SD of the paired difference (n, R)'
              ] + [f'± at n={n}, R={r}' for n, r in budgets]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for task in tasks:
        split = variance_split(per_repeat, 'mcl', 'independent', task)
        if split is None:
            continue
        cells = [
            f'{split["sd_finetune"]:.2f}', f'{split["sd_seed"]:.2f}',
            f'{split["sd_difference"]:.2f} ({split["n"]}, {split["R"]})'
        ]
        cells += [f'{projected_half_width(split, n, r):.2f}' for n, r in budgets]
        lines.append(f'| {TASKS[task][4]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n' if len(lines) > 2 else ''


def markdown(per_seed,
             per_repeat,
             draws: 'OrderedDict[int, List[int]]',
             repeats,
             tasks,
             mode: dict,
             minutes: float,
             mode_name: str,
             merged: Optional[Tuple[List[int], str]] = None) -> str:
    """The transfer study's results.md: values, paired differences pooled over the draws and per draw, the
    variance split and the budgets (``merged``: the draws taken from an earlier invocation, and its results.csv)."""
    pretrain_columns = OrderedDict(PRETRAIN_METRICS)
    downstream = OrderedDict((t, TASKS[t][4]) for t in tasks)
    draw_text = '; '.join(f'draw {d}: {", ".join(map(str, s))}' for d, s in draws.items())
    det, seg, probe = (base_schedule(t, mode)['length'] for t in ('voc_det', 'voc_seg', 'probe'))
    budgets = f'detection {det} epochs, segmentation {seg} iterations, probe {probe} epochs'
    lines = [
        f'# MCL transfer study: results ({mode_name} mode)', '',
        f'Written by `python tools/study.py --transfer` on {time.strftime("%Y-%m-%d")}: world draws and their '
        f'pretraining seeds {draw_text} (n: the runs that finished; `results.csv` names each value\'s draw), '
        f'{repeats} fine-tune(s) per pretrained member and task (downstream values are their mean), pretraining '
        f'{mode["pre_epochs"]} epochs, fine-tune configs as they are ({budgets}); {minutes:.0f} min on '
        f'{host_description()}' +
        (f' (this invocation; draws {", ".join(map(str, merged[0]))} from {merged[1]})' if merged else '') + '.', '',
        '## Pretraining: the classification effect in this regime', '',
        'Top-1 (%) on the two-digit numbers of held-out writers at the last epoch, mean ± std over seeds:', '',
        markdown_table(
            seed_rows(OrderedDict((a, per_seed[a]) for a in ARMS), LABELS),
            pretrain_columns,
            first_column='pretraining'), 'Paired per-seed differences, mean [95 % t interval] (n seeds):', '',
        paired_table(per_seed, PAIRS[:3], pretrain_columns, LABELS,
                     per_seed_column='pretrain/member_0/top1'), '## Transfer from member 0', '',
        'Mean ± std over pretraining seeds (each seed: the mean of its fine-tunes); VOC mAP and mIoU in %:', '',
        markdown_table(seed_rows(per_seed, LABELS), downstream,
                       first_column='initialisation'), 'Paired per-seed differences' +
        (' pooled over the draws' if len(draws) > 1 else '') + ', mean [95 % t interval] (n seeds):', '',
        paired_table(per_seed, PAIRS, downstream, LABELS)
    ]
    if len(draws) > 1:
        lines += ['## Per draw', '', 'The same paired differences within each world draw:', '']
        for draw, seeds in draws.items():
            lines += [
                f'### Draw {draw} (seeds {seeds[0]}–{seeds[-1]})', '',
                paired_table(restrict_seeds(per_seed, seeds), PAIRS, downstream, LABELS)
            ]
    power = power_table(per_repeat, tasks, [(5, 2), (10, 2), (20, 1), (20, 2), (40, 2)])
    if power:
        lines += [
            '## Where the variance comes from (MCL − independent)', '',
            'SD of a single fine-tune of one member (pooled), SD the pretraining seed adds to the paired difference, '
            'and the 95 % half-width of the mean difference other budgets (n seeds, R fine-tunes each) would reach:',
            '', power
        ]
    lines += ['![paired differences](paired_differences.png)', '', '![values](values.png)', '']
    return '\n'.join(lines)


def plot(per_seed, tasks: Sequence[str], out: str) -> None:
    """The paired-difference and per-seed value plots of the transfer study."""
    downstream = OrderedDict([('pretrain/member_0/top1', 'member 0 top-1 (%)')] + [(t, TASKS[t][4]) for t in tasks])
    pairs = [p for p in PAIRS if p[1] != 'random']
    paired_difference_plot(per_seed, pairs, downstream, LABELS, osp.join(out, 'paired_differences.png'))
    seed_scatter(per_seed, LABELS, downstream, osp.join(out, 'values.png'))


def select_tasks(names: Optional[str]) -> List[str]:
    """``--tasks a,b`` as a list of known task names (all by default); a ToolInputError for an unknown one."""
    chosen = names.split(',') if names else list(DEFAULT_TASKS)
    unknown = [t for t in chosen if t not in TASKS]
    if unknown:
        raise ToolInputError(f'unknown task(s) {unknown}; choose from {list(TASKS)}')
    return chosen


def run_transfer_study(out: str,
                       quick: bool = False,
                       seeds: Optional[int] = None,
                       repeats: Optional[int] = None,
                       tasks: Optional[str] = None,
                       jobs: int = 2,
                       docs: Optional[str] = None,
                       workdir: str = ROOT,
                       skip_finished: bool = False,
                       collect_only: bool = False,
                       world_draws: Optional[int] = None,
                       draws: Optional[str] = None,
                       merge_results: Optional[str] = None) -> str:
    """Generate the world draws, train the plan, tabulate and plot; returns the results markdown. ``draws``
    (``'1'``): only these of the ``world_draws`` draws; ``merge_results``: pool with the draws an earlier
    invocation tabulated (its results.csv)."""
    mode_name = 'quick' if quick else 'full'
    mode = MODES[mode_name]
    chosen = select_draws(seeds_of_draws(world_draws or mode['world_draws'], seeds or mode['seeds']), draws)
    earlier = load_earlier(merge_results) if merge_results else None
    if earlier:
        check_disjoint_draws(chosen, earlier[0])
    repeats = repeats or mode['repeats']
    task_list = select_tasks(tasks)
    out = osp.abspath(out)
    claim_folder(out, 'transfer study')
    start, timing = time.time(), osp.join(out, 'timing.json')
    if not collect_only:
        roots = OrderedDict((d, (world_root(workdir, quick, d), s)) for d, s in chosen.items())
        run_plan('transfer-study', out,
                 [partial(generate_demo_world, root, mode, quick, d) for d, (root, _) in roots.items()],
                 lambda: plan(mode, roots, repeats, task_list, out, skip_finished), jobs)
        earlier_minutes = json.load(open(timing))['minutes'] if skip_finished and osp.exists(timing) else 0.0
        with open(timing, 'w') as f:
            json.dump(dict(minutes=earlier_minutes + (time.time() - start) / 60, jobs=jobs), f)
    minutes = json.load(open(timing))['minutes'] if osp.exists(timing) else math.nan
    per_seed, per_repeat = collect(chosen, repeats, task_list, out)
    every_draw = merge_earlier(per_seed, per_repeat, chosen, earlier) if earlier else chosen
    write_results(per_seed, per_repeat, every_draw, out)
    text = markdown(per_seed, per_repeat, every_draw, repeats, task_list, mode, minutes, mode_name,
                    (list(earlier[0]), merge_results) if earlier else None)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(text)
    plot(per_seed, task_list, out)
    print('\n' + text)
    if docs:
        os.makedirs(docs, exist_ok=True)
        for name in ('results.md', 'results.csv', 'repeats.csv', 'paired_differences.png', 'values.png'):
            shutil.copy(osp.join(out, name), osp.join(docs, name))
    print(f'[transfer-study] written to {out}' + (f' and {docs}' if docs else ''))
    return text
