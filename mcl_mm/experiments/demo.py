"""The main job on embedded data (``make demo``, tools/demo.py): pretrain an MCL cohort and its independent
baseline, transfer a member's backbone to detection and segmentation, publish the MCL member, and compare — all
through tools/train.py and the project's configs.

1. generates (once; cached) a digits world in real formats — scikit-learn's handwritten digits (shipped in
   the package) as objects: an image folder, COCO instances json, Pascal VOC XML detection and VOC 2012
   segmentation sets, the same 10 classes throughout, evaluation splits from held-out writers;
2. pretrains MCL x2 (ResNet-18 at 1/4 width) and the same two members independently, same data/seeds;
3. extracts member 0 of each with tools/model_converters/extract_backbone.py;
4. fine-tunes Mask R-CNN (COCO format), Faster R-CNN (VOC format) and FCN (VOC segmentation) from each
   initialisation — MCL member, baseline member, random — with identical budgets;
5. publishes member 0 of the MCL cohort of seed 0 with tools/model_converters/publish_model.py and checks that
   ``mmpretrain.get_model`` on the published files gives the top-1 the training run logged;
6. writes results.md / results.csv (mean ± std over seeds), pretraining curves and a transfer chart.

The self-supervised variant (``tools/demo.py --selfsup``) is ``demo_selfsup.py``: it shares this world, these
fine-tunes and :func:`execute`.
"""
import glob
import json
import os.path as osp
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional

from mcl_mm.utils.errors import RunRecordError
from mcl_mm.utils.logs import last_metrics
from mcl_mm.utils.owned_folders import claim_folder
from mcl_mm.utils.paths import project_root
from .common import finetune_schedule, generate_demo_world, run_plan, schedule_options
from .jobs import Job, host_description
from .report import bar_chart, paired_difference_plot, paired_table, plot_curves, seed_rows, write_long_csv, write_table

ROOT = project_root()


@dataclass
class DemoRun:
    """What one demo run writes and how many seeds it trains."""
    out: str
    seeds: int


PRETRAIN = OrderedDict([('mcl', 'configs/demo/mcl_resnet18w16x2_1xb64-15e_two-digits.py'),
                        ('baseline', 'configs/demo/independent_resnet18w16x2_1xb64-15e_two-digits.py')])
TRANSFER = OrderedDict([('coco', 'configs/demo/mask-rcnn_r18w16_fpn_digits-coco.py'),
                        ('voc_det', 'configs/demo/faster-rcnn_r18w16_fpn_digits-voc0712.py'),
                        ('voc_seg', 'configs/demo/fcn_r18w16-d8_digits-voc12.py')])
INITS = ('mcl', 'baseline', 'random')
ARM_LABELS = {
    'mcl': 'MCL x2 (member 0)',
    'baseline': 'independent x2 (member 0)',
    'random': 'random init',
    'moco_mcl': 'MoCo v2 + MCL x2 (member 0)',
    'moco': 'MoCo v2 x2 (member 0)'
}
COLUMNS = OrderedDict([('member_0/top1', 'member 0 top-1'), ('member_1/top1', 'member 1 top-1'),
                       ('ensemble/top1', 'ensemble top-1'), ('coco/bbox_mAP', 'box AP'), ('coco/segm_mAP', 'mask AP'),
                       ('pascal_voc/mAP', 'VOC mAP'), ('mIoU', 'mIoU')])
# Sizes of the generated world and of each run: full mode / --quick. two_digits: training / validation images
# per class of the pretraining world (the study's); digits_cls: the 10-digit folder of the self-supervised and
# L-MCL demos.
MODES = {
    'full': dict(two_digits=(25, 15), digits_cls=(200, 40), coco=(96, 40), voc=(48, 40, 48), seg=(120, 120),
                 pre_epochs=15, seeds=3, ssl_epochs=30),
    'quick': dict(two_digits=(2, 1), digits_cls=(24, 10), coco=(8, 4), voc=(4, 4, 4), seg=(8, 4),
                  pre_epochs=2, det_epochs=1, seg_iters=4, seg_warmup=1,
                  shorten_finetunes=True, seeds=1, ssl_epochs=1, probe_epochs=1),
}  # yapf: disable


def plan(run: DemoRun, mode: dict) -> List[Job]:
    """The demo's jobs: both pretrainings per seed, member 0 extracted, the MCL member published, every fine-tune."""
    py = sys.executable
    train, out = osp.join(ROOT, 'tools', 'train.py'), run.out
    jobs = []
    for seed in range(run.seeds):
        for arm, cfg in PRETRAIN.items():
            opts = [f'randomness.seed={seed}', *schedule_options(mode['pre_epochs'])]
            work = f'{out}/pretrain/{arm}/s{seed}'
            jobs.append(
                Job(
                    f'pretrain/{arm}/s{seed}',
                    [py, train, osp.join(ROOT, cfg), '--work-dir', work, '--cfg-options', *opts],
                    cost=2.4,  # minutes on one core (measured 2026-12-02), for the ETA
                    work_dir=work))
            ckpt = f'{out}/pretrain/{arm}/s{seed}/epoch_{mode["pre_epochs"]}.pth'
            jobs.append(
                Job(f'extract/{arm}/s{seed}', [
                    py,
                    osp.join(ROOT, 'tools', 'model_converters', 'extract_backbone.py'), ckpt,
                    f'{out}/backbones/{arm}_s{seed}.pth', '--member', '0'
                ],
                    cost=0.3,
                    deps=[f'pretrain/{arm}/s{seed}']))
    jobs.insert(
        2,
        Job('publish/mcl/s0', [
            py,
            osp.join(ROOT, 'tools', 'model_converters',
                     'publish_model.py'), f'{out}/pretrain/mcl/s0/epoch_{mode["pre_epochs"]}.pth',
            f'{out}/published/{PUBLISHED_NAME}', '--member', '0', '--with-head'
        ],
            cost=0.3,
            deps=['pretrain/mcl/s0'],
            work_dir=f'{out}/published'))
    # Every pretraining is queued before the fine-tunings (jobs start in list order once their inputs exist), so
    # both cores stay busy until the last, short fine-tunings.
    for seed in range(run.seeds):
        for task, cfg in TRANSFER.items():
            jobs += [transfer_job(run, mode, task, cfg, init, seed) for init in INITS]
    return jobs


def init_options(out: str, init: str, seed: int) -> List[str]:
    """--cfg-options that start a backbone from random weights or from an extracted member."""
    if init == 'random':
        return ['model.backbone.init_cfg=None']
    return [
        f'model.backbone.init_cfg.checkpoint={out}/backbones/{init}_s{seed}.pth', 'model.backbone.init_cfg.prefix=None'
    ]


def transfer_job(run: DemoRun, mode: dict, task: str, cfg: str, init: str, seed: int) -> Job:
    """The fine-tune job of ``task`` from initialisation ``init`` (a pretrained member or random weights) and seed."""
    sched = finetune_schedule(task, mode)
    work = f'{run.out}/transfer/{task}/{init}/s{seed}'
    return Job(
        f'transfer/{task}/{init}/s{seed}',
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            osp.join(ROOT, cfg), '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
            *init_options(run.out, init, seed), *sched
        ],
        cost={
            'coco': 1.05,
            'voc_det': 0.65,
            'voc_seg': 1.1
        }[task],  # minutes on one core, for the ETA
        deps=[] if init == 'random' else [f'extract/{init}/s{seed}'],
        work_dir=work)


def last_val(work_dir: str, keys) -> dict:
    """The last logged value of each key (pretraining logs them as ``cohort/<key>``); {} for a run without them."""
    try:
        found = last_metrics(work_dir, [*keys, *(f'cohort/{k}' for k in keys)])
    except RunRecordError:
        return {}
    return {k.removeprefix('cohort/'): v for k, v in found.items()}


PUBLISHED_NAME = 'mcl_resnet18w16x2_two-digits_member0'


def check_published(run: DemoRun, data_root: str) -> str:
    """Load the published member with ``mmpretrain.get_model`` and compare its top-1 on the held-out images with
    the one the training run logged (and the publish step recorded); a markdown paragraph saying where it is."""
    from mcl_mm.apis.publish import published_top1
    found = sorted(glob.glob(osp.join(run.out, 'published', f'{PUBLISHED_NAME}_*.pth')))
    if len(found) != 1:
        raise RunRecordError(f'expected one published {PUBLISHED_NAME}_*.pth in {run.out}/published, found {found}')
    weights = found[0]
    config, sidecar = weights[:-len('.pth')] + '.py', weights[:-len('.pth')] + '.json'
    with open(sidecar) as f:
        logged = (json.load(f).get('val_accuracy') or {}).get('member_top1')
    if logged is None:
        raise RunRecordError(f'{sidecar} records no validation top-1 of the member')
    top1, images = published_top1(config, weights, osp.join(data_root, 'two_digits', 'val'))
    # Same weights, preprocessing and images as the run's validation: the same images right. (The log keeps 4
    # decimals, so the two numbers are compared to within half an image, not bit for bit.)
    if abs(top1 - logged) > 50.0 / images:
        raise RunRecordError(f'the published member gives top-1 {top1:.2f} on the {images} held-out images, the '
                             f'training run logged {logged:.2f}: the published config or weights are not the trained '
                             'member')
    print(f'[demo] published {weights}: get_model top-1 {top1:.2f} = logged {logged:.2f}')
    return (f'\nPublished: MCL member 0 of seed 0 as `{osp.relpath(weights, run.out)}` with its `.py` config and '
            f'`.json` metadata (in `{run.out}/published/`); `mmpretrain.get_model(config, pretrained=weights)` gives '
            f'top-1 {top1:.2f} on the {images} held-out images, the top-1 its training run logged.\n')


# Paired per-seed differences reported by the demo (a seed fixes pretraining and fine-tuning alike).
PAIRS = (('mcl', 'baseline'), ('mcl', 'random'), ('baseline', 'random'))
SHORT_LABELS = {'mcl': 'MCL', 'baseline': 'independent', 'random': 'random init'}


def collect(run: DemoRun, mode: dict) -> str:
    """The demo's table (mean ± std per initialisation), paired differences, CSVs and plots; its markdown."""
    per_seed = OrderedDict((init, {}) for init in INITS)  # init -> metric -> {seed: value}
    for seed in range(run.seeds):
        for arm in PRETRAIN:
            for key, value in last_val(f'{run.out}/pretrain/{arm}/s{seed}', list(COLUMNS)[:3]).items():
                per_seed[arm].setdefault(key, {})[seed] = value
        for task in TRANSFER:
            for init in INITS:
                metrics = last_val(f'{run.out}/transfer/{task}/{init}/s{seed}', list(COLUMNS)[3:])
                for key, value in metrics.items():
                    scale = 100 if key.startswith(('coco/', 'pascal_voc/')) else 1
                    per_seed[init].setdefault(key, {})[seed] = value * scale
    rows = seed_rows(per_seed, ARM_LABELS)
    markdown = write_table(rows, COLUMNS, run.out, 'results', first_column='pretraining')
    markdown += ('\nPaired per-seed differences, mean [95 % t interval] (n seeds):\n\n' +
                 paired_table(per_seed, PAIRS, COLUMNS, SHORT_LABELS))
    with open(osp.join(run.out, 'results.md'), 'w') as f:
        f.write(markdown)
    write_long_csv(per_seed, osp.join(run.out, 'runs.csv'))
    transfer_rows = OrderedDict((k, {m: v for m, v in r.items() if m in list(COLUMNS)[3:]}) for k, r in rows.items())
    bar_chart(transfer_rows, OrderedDict(list(COLUMNS.items())[3:]), osp.join(run.out, 'transfer.png'),
              f'Transfer from each initialisation ({run.seeds} seed{"s" if run.seeds > 1 else ""})')
    # The headline picture (README): every paired difference per seed with its mean and interval.
    differences = OrderedDict([('member_0/top1', 'member 0 top-1')] + list(COLUMNS.items())[3:])
    paired_difference_plot(per_seed, PAIRS, differences, SHORT_LABELS, osp.join(run.out, 'paired_differences.png'))
    plot_pretraining(run)
    return markdown


def plot_pretraining(run: DemoRun) -> None:
    """Loss terms per iteration and validation top-1 per epoch of both pretrainings (seed 0)."""
    runs = OrderedDict((arm, f'{run.out}/pretrain/{arm}/s0') for arm in PRETRAIN)
    plot_curves(
        runs,
        osp.join(run.out, 'pretrain_curves.png'),
        'pretraining, seed 0',
        metrics=['cohort/member_0/top1', 'cohort/member_1/top1', 'cohort/ensemble/top1'],
        losses=['loss_ce_m0', 'loss_ce_m1', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl'])


def data_root_of(workdir: str) -> str:
    """Where the demo's world is generated (the demo configs read ``data/demo/...`` relative to ``workdir``)."""
    return osp.join(workdir, 'data', 'demo')


def run_demo(out: Optional[str] = None,
             quick: bool = False,
             seeds: Optional[int] = None,
             jobs: int = 2,
             workdir: str = ROOT) -> str:
    """Generate the world, run the plan, tabulate, plot and publish; returns the results markdown (tools/demo.py
    documents each argument)."""
    mode = MODES['quick' if quick else 'full']
    run = DemoRun(out=osp.abspath(out or 'outputs/demo'), seeds=seeds or mode['seeds'])
    return execute(run, mode, quick, workdir, jobs, plan,
                   lambda: collect(run, mode) + check_published(run, data_root_of(workdir)),
                   'transfer.png, paired_differences.png, published/')


def execute(run: DemoRun, mode: dict, quick: bool, workdir: str, jobs: int, make_plan, make_report,
            written: str) -> str:
    """What the demo and its self-supervised variant share: the output folder claimed, the world generated, the
    plan run, the report (``make_report()``: markdown) written to results.md with the host and the time."""
    start = time.time()
    claim_folder(run.out, 'demo')
    data_root = data_root_of(workdir)
    run_plan(
        'demo',
        run.out, [lambda: generate_demo_world(data_root, mode, quick)],
        lambda: make_plan(run, mode),
        jobs,
        cwd=workdir)
    markdown = make_report()
    # The host goes into results.md: the MCL arm's numbers differ between CPU kinds (docs/demo/second-host).
    markdown += (f'\nMeasured: {run.seeds} seed(s), {(time.time() - start) / 60:.1f} min on {host_description()}, '
                 f'{time.strftime("%Y-%m-%d")}.\n')
    with open(osp.join(run.out, 'results.md'), 'w') as f:
        f.write(markdown)
    print(f'\n[demo] {"quick " if quick else ""}results:\n')
    print(markdown)
    print(f'[demo] written to {run.out}: results.md, results.csv, runs.csv, pretrain_curves.png, {written}, logs/')
    return markdown
