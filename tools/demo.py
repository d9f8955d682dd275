"""The main job on embedded data: pretrain an MCL cohort and its independent baseline, transfer a member's
backbone to detection and segmentation, and compare — all through tools/train.py and the project's configs.

    python tools/demo.py [--quick] [--seeds N] [--jobs J] [--out outputs/demo]
    python tools/demo.py --selfsup [--quick] [--seeds N] [--out outputs/demo_selfsup]

--selfsup runs the self-supervised variant instead of steps 2-4: MoCo v2 + MCL x2 and MoCo v2 x2 pretrained on
the same images without labels, member 0 of each evaluated by a linear probe (frozen backbone) and fine-tuned
to Faster R-CNN (VOC format) beside random initialisation.

1. generates (once; cached) a digits world in real formats — scikit-learn's handwritten digits (shipped in
   the package) as objects: an image folder, COCO instances json, Pascal VOC XML detection and VOC 2012
   segmentation sets, the same 10 classes throughout, evaluation splits from held-out writers;
2. pretrains MCL x2 (ResNet-18 at 1/4 width) and the same two members independently, same data/seeds;
3. extracts member 0 of each with tools/model_converters/extract_backbone.py;
4. fine-tunes Mask R-CNN (COCO format), Faster R-CNN (VOC format) and FCN (VOC segmentation) from each
   initialisation — MCL member, baseline member, random — with identical budgets;
5. writes results.md / results.csv (mean ± std over seeds), pretraining curves and a transfer chart.
"""
import argparse
import json
import os.path as osp
import shutil
import sys
import time
from collections import OrderedDict
from typing import List

from mcl_mm.utils.jobs import Job, host_description, run_jobs
from mcl_mm.utils.results import (RunRecordError, bar_chart, last_metrics, paired_table, plot_curves, write_long_csv,
                                  write_table)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

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
# The self-supervised variant (--selfsup): no labels in pretraining; a linear probe and detection transfer.
SELFSUP_PRETRAIN = OrderedDict([('moco_mcl', 'configs/demo/mocov2-mcl_resnet18w16x2_1xb64-30e_digits.py'),
                                ('moco', 'configs/demo/mocov2_resnet18w16x2_1xb64-30e_digits.py')])
LINEAR_PROBE = 'configs/demo/linear_resnet18w16_1xb64-20e_digits.py'
SELFSUP_INITS = ('moco_mcl', 'moco', 'random')
SELFSUP_COLUMNS = OrderedDict([('accuracy/top1', 'linear-probe top-1'), ('pascal_voc/mAP', 'VOC mAP')])
COLUMNS = OrderedDict([('member_0/top1', 'member 0 top-1'), ('member_1/top1', 'member 1 top-1'),
                       ('ensemble/top1', 'ensemble top-1'), ('coco/bbox_mAP', 'box AP'), ('coco/segm_mAP', 'mask AP'),
                       ('pascal_voc/mAP', 'VOC mAP'), ('mIoU', 'mIoU')])
# Sizes of the generated world and of each run: full mode / --quick. two_digits: training / validation images
# per class of the pretraining world (the study's); digits_cls: the 10-digit folder of the self-supervised and
# L-MCL demos.
MODES = {
    'full': dict(two_digits=(25, 15), digits_cls=(200, 40), coco=(96, 40), voc=(48, 40, 48), seg=(120, 120),
                 pre_epochs=15, det_epochs=4, seg_iters=600, seg_warmup=60, seeds=3, ssl_epochs=30, probe_epochs=20),
    'quick': dict(two_digits=(2, 1), digits_cls=(24, 10), coco=(24, 12), voc=(16, 12, 16), seg=(24, 12),
                  pre_epochs=2, det_epochs=1, seg_iters=20, seg_warmup=2, seeds=1, ssl_epochs=1, probe_epochs=1),
}  # yapf: disable


def generate_data(data_root: str, mode: dict, quick: bool) -> None:
    """The digits world in its real file formats; skipped when the same spec was generated before."""
    from demo_world import (TWO_DIGIT_WORLD, DigitObjects, make_coco_instances, make_digit_classification_folder,
                            make_semantic_set, make_voc_detection)
    spec = dict(version=3, quick=quick, **{k: mode[k] for k in ('two_digits', 'digits_cls', 'coco', 'voc', 'seg')})
    stamp = osp.join(data_root, 'spec.json')
    if osp.exists(stamp) and json.load(open(stamp)) == json.loads(json.dumps(spec)):
        print(f'[demo] data: reusing {data_root}')
        return
    start = time.time()
    shutil.rmtree(data_root, ignore_errors=True)
    digits = DigitObjects.classes
    # Pretraining: the study's two-digit world at 64 px (configs/demo/mcl_resnet18w16x2_1xb64-15e_two-digits.py).
    make_digit_classification_folder(
        osp.join(data_root, 'two_digits'),
        train_per_class=mode['two_digits'][0],
        val_per_class=mode['two_digits'][1],
        image_size=64,
        seed=0,
        digits_per_image=2,
        **TWO_DIGIT_WORLD)
    make_digit_classification_folder(
        osp.join(data_root, 'digits_cls'),
        train_per_class=mode['digits_cls'][0],
        val_per_class=mode['digits_cls'][1],
        image_size=32,
        seed=0)
    # Scenes: training splits from the training writers, evaluation splits from the held-out writers.
    train_digits, val_digits = DigitObjects('train'), DigitObjects('val')
    for split, n, seed, drawer in (('train', mode['coco'][0], 1, train_digits), ('val', mode['coco'][1], 2,
                                                                                 val_digits)):
        make_coco_instances(
            osp.join(data_root, 'coco'),
            split,
            num_images=n,
            image_size=(96, 128),
            classes=digits,
            seed=seed,
            img_dir=split,
            drawer=drawer)
    v07, test, v12 = mode['voc']
    make_voc_detection(
        osp.join(data_root, 'VOCdevkit'), {
            'VOC2007': {
                'trainval': v07
            },
            'VOC2012': {
                'trainval': v12
            }
        },
        image_size=(96, 128),
        class_names=digits,
        seed=3,
        drawer=train_digits)
    make_voc_detection(
        osp.join(data_root, 'VOCdevkit'), {'VOC2007': {
            'test': test
        }},
        image_size=(96, 128),
        class_names=digits,
        seed=5,
        drawer=val_digits)
    for split, n, seed, drawer in (('train', mode['seg'][0], 4, train_digits), ('val', mode['seg'][1], 6, val_digits)):
        make_semantic_set(
            osp.join(data_root, 'VOCdevkit', 'VOC2012'),
            'voc12', {split: n},
            image_size=(96, 128),
            num_classes=10,
            seed=seed,
            drawer=drawer)
    with open(stamp, 'w') as f:
        json.dump(spec, f)
    print(f'[demo] data: generated {data_root} in {time.time() - start:.0f} s')


def plan(args, mode) -> List[Job]:
    py = sys.executable
    train, out = osp.join(ROOT, 'tools', 'train.py'), args.out
    jobs = []
    for seed in range(args.seeds):
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
    # Every pretraining is queued before the fine-tunings (jobs start in list order once their inputs exist), so
    # both cores stay busy until the last, short fine-tunings.
    for seed in range(args.seeds):
        for task, cfg in TRANSFER.items():
            jobs += [transfer_job(args, mode, task, cfg, init, seed) for init in INITS]
    return jobs


def schedule_options(epochs: int) -> List[str]:
    """--cfg-options that shorten the pretraining configs' 5 warm-up + cosine epochs (only --quick changes them)."""
    warmup = min(5, epochs - 1)
    return [
        f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={warmup}', f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={epochs}', f'train_cfg.val_interval={max(1, epochs // 6)}',
        f'default_hooks.checkpoint.interval={epochs}'
    ]


def init_options(out: str, init: str, seed: int) -> List[str]:
    """--cfg-options that start a backbone from random weights or from an extracted member."""
    if init == 'random':
        return ['model.backbone.init_cfg=None']
    return [
        f'model.backbone.init_cfg.checkpoint={out}/backbones/{init}_s{seed}.pth', 'model.backbone.init_cfg.prefix=None'
    ]


def transfer_job(args, mode, task: str, cfg: str, init: str, seed: int) -> Job:
    if task == 'voc_seg':
        iters, warmup = mode['seg_iters'], mode['seg_warmup']
        sched = [
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}', f'param_scheduler.0.end={warmup}',
            f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}'
        ]
    else:
        e = mode['det_epochs']
        sched = [
            f'train_cfg.max_epochs={e}', f'train_cfg.val_interval={e}', f'param_scheduler.1.end={e}',
            f'param_scheduler.1.milestones=[{max(1, e - 2)}]', f'default_hooks.checkpoint.interval={e}'
        ]
    work = f'{args.out}/transfer/{task}/{init}/s{seed}'
    return Job(
        f'transfer/{task}/{init}/s{seed}',
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'train.py'),
            osp.join(ROOT, cfg), '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
            *init_options(args.out, init, seed), *sched
        ],
        cost={
            'coco': 1.05,
            'voc_det': 0.65,
            'voc_seg': 1.1
        }[task],  # minutes on one core, for the ETA
        deps=[] if init == 'random' else [f'extract/{init}/s{seed}'],
        work_dir=work)


def selfsup_plan(args, mode) -> List[Job]:
    """MoCo-MCL x2 and MoCo x2 without labels -> member 0 extracted -> linear probe and VOC detection."""
    py, train, out = sys.executable, osp.join(ROOT, 'tools', 'train.py'), args.out
    epochs, probe = mode['ssl_epochs'], mode['probe_epochs']
    jobs = []
    for seed in range(args.seeds):
        for arm, cfg in SELFSUP_PRETRAIN.items():
            work = f'{out}/pretrain/{arm}/s{seed}'
            jobs.append(
                Job(f'pretrain/{arm}/s{seed}', [
                    py, train,
                    osp.join(ROOT, cfg), '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
                    f'train_cfg.max_epochs={epochs}', f'default_hooks.checkpoint.interval={epochs}',
                    f'param_scheduler.1.end={max(2, epochs)}'
                ],
                    cost=6 * epochs / 30,
                    work_dir=work))
            jobs.append(
                Job(f'extract/{arm}/s{seed}', [
                    py,
                    osp.join(ROOT, 'tools', 'model_converters', 'extract_backbone.py'), f'{work}/epoch_{epochs}.pth',
                    f'{out}/backbones/{arm}_s{seed}.pth', '--member', '0'
                ],
                    cost=0.3,
                    deps=[f'pretrain/{arm}/s{seed}']))
        for init in SELFSUP_INITS:
            work = f'{out}/probe/{init}/s{seed}'
            jobs.append(
                Job(f'probe/{init}/s{seed}', [
                    py, train,
                    osp.join(ROOT, LINEAR_PROBE), '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
                    *init_options(out, init, seed), f'train_cfg.max_epochs={probe}', f'train_cfg.val_interval={probe}',
                    f'default_hooks.checkpoint.interval={probe}',
                    f'param_scheduler.milestones=[{max(1, probe * 3 // 5)},{max(1, probe * 4 // 5)}]'
                ],
                    cost=0.5,
                    deps=[] if init == 'random' else [f'extract/{init}/s{seed}'],
                    work_dir=work))
            jobs.append(transfer_job(args, mode, 'voc_det', TRANSFER['voc_det'], init, seed))
    return jobs


def selfsup_collect(args) -> str:
    rows = OrderedDict((ARM_LABELS[i], {}) for i in SELFSUP_INITS)
    for seed in range(args.seeds):
        for init in SELFSUP_INITS:
            for folder in ('probe', 'transfer/voc_det'):
                for key, value in last_val(f'{args.out}/{folder}/{init}/s{seed}', SELFSUP_COLUMNS).items():
                    rows[ARM_LABELS[init]].setdefault(key, []).append(value * (100 if key == 'pascal_voc/mAP' else 1))
    markdown = write_table(rows, SELFSUP_COLUMNS, args.out, 'results', first_column='pretraining (no labels)')
    bar_chart(rows, SELFSUP_COLUMNS, osp.join(args.out, 'selfsup.png'),
              f'Self-supervised pretraining on the digits ({args.seeds} seed{"s" if args.seeds > 1 else ""})')
    plot_curves(
        OrderedDict((arm, f'{args.out}/pretrain/{arm}/s0') for arm in SELFSUP_PRETRAIN),
        osp.join(args.out, 'pretrain_curves.png'),
        'self-supervised pretraining, seed 0',
        metrics=[],
        losses=['loss_vcl', 'loss_icl', 'loss_soft_vcl', 'loss_soft_icl'])
    return markdown


def last_val(work_dir: str, keys) -> dict:
    """The last logged value of each key (pretraining logs them as ``cohort/<key>``); {} for a run without them."""
    try:
        found = last_metrics(work_dir, [*keys, *(f'cohort/{k}' for k in keys)])
    except RunRecordError:
        return {}
    return {k.removeprefix('cohort/'): v for k, v in found.items()}


# Paired per-seed differences reported by the demo (a seed fixes pretraining and fine-tuning alike).
PAIRS = (('mcl', 'baseline'), ('mcl', 'random'), ('baseline', 'random'))
SHORT_LABELS = {'mcl': 'MCL', 'baseline': 'independent', 'random': 'random init'}


def collect(args, mode) -> str:
    per_seed = OrderedDict((init, {}) for init in INITS)  # init -> metric -> {seed: value}
    for seed in range(args.seeds):
        for arm in PRETRAIN:
            for key, value in last_val(f'{args.out}/pretrain/{arm}/s{seed}', list(COLUMNS)[:3]).items():
                per_seed[arm].setdefault(key, {})[seed] = value
        for task in TRANSFER:
            for init in INITS:
                metrics = last_val(f'{args.out}/transfer/{task}/{init}/s{seed}', list(COLUMNS)[3:])
                for key, value in metrics.items():
                    scale = 100 if key.startswith(('coco/', 'pascal_voc/')) else 1
                    per_seed[init].setdefault(key, {})[seed] = value * scale
    rows = OrderedDict((ARM_LABELS[i], {k: [v[s] for s in sorted(v)] for k, v in per_seed[i].items()}) for i in INITS)
    markdown = write_table(rows, COLUMNS, args.out, 'results', first_column='pretraining')
    markdown += ('\nPaired per-seed differences, mean [95 % t interval] (n seeds):\n\n' +
                 paired_table(per_seed, PAIRS, COLUMNS, SHORT_LABELS))
    with open(osp.join(args.out, 'results.md'), 'w') as f:
        f.write(markdown)
    write_long_csv(per_seed, osp.join(args.out, 'runs.csv'))
    transfer_rows = OrderedDict((k, {m: v for m, v in r.items() if m in list(COLUMNS)[3:]}) for k, r in rows.items())
    bar_chart(transfer_rows, OrderedDict(list(COLUMNS.items())[3:]), osp.join(args.out, 'transfer.png'),
              f'Transfer from each initialisation ({args.seeds} seed{"s" if args.seeds > 1 else ""})')
    plot_pretraining(args)
    return markdown


def plot_pretraining(args) -> None:
    """Loss terms per iteration and validation top-1 per epoch of both pretrainings (seed 0)."""
    runs = OrderedDict((arm, f'{args.out}/pretrain/{arm}/s0') for arm in PRETRAIN)
    plot_curves(
        runs,
        osp.join(args.out, 'pretrain_curves.png'),
        'pretraining, seed 0',
        metrics=['cohort/member_0/top1', 'cohort/member_1/top1', 'cohort/ensemble/top1'],
        losses=['loss_ce_m0', 'loss_ce_m1', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl'])


def main(argv=None):
    parser = argparse.ArgumentParser(description='MCL demo: pretrain -> transfer -> results, on generated data')
    parser.add_argument('--quick', action='store_true', help='tiny sizes, 1 seed: the pipeline in ~3 minutes')
    parser.add_argument('--seeds', type=int, help='seeds per arm (full: 3, quick: 1)')
    parser.add_argument('--jobs', type=int, default=2, help='runs at once (each gets cores / jobs threads)')
    parser.add_argument('--selfsup', action='store_true', help='the self-supervised variant (MoCo-MCL vs MoCo)')
    parser.add_argument(
        '--out',
        help='output folder (tables, plots, logs, work dirs); default outputs/demo, '
        'outputs/demo_selfsup with --selfsup')
    parser.add_argument('--workdir', default=ROOT, help='where data/demo lives (configs read data/demo/...)')
    args = parser.parse_args(argv)
    mode = MODES['quick' if args.quick else 'full']
    args.seeds = args.seeds or mode['seeds']
    args.out = osp.abspath(args.out or ('outputs/demo_selfsup' if args.selfsup else 'outputs/demo'))
    start = time.time()
    generate_data(osp.join(args.workdir, 'data', 'demo'), mode, args.quick)
    jobs = selfsup_plan(args, mode) if args.selfsup else plan(args, mode)
    run_jobs(jobs, osp.join(args.out, 'logs'), args.workdir, args.jobs, 'demo')
    markdown = selfsup_collect(args) if args.selfsup else collect(args, mode)
    # The host goes into results.md: the MCL arm's numbers differ between CPU kinds (docs/demo/second-host).
    measured = (f'\nMeasured: {args.seeds} seed(s), {(time.time() - start) / 60:.1f} min on {host_description()}, '
                f'{time.strftime("%Y-%m-%d")}.\n')
    markdown += measured
    with open(osp.join(args.out, 'results.md'), 'a') as f:
        f.write(measured)
    print(f'\n[demo] {"quick " if args.quick else ""}results:\n')
    print(markdown)
    plots = 'selfsup.png' if args.selfsup else 'transfer.png'
    print(f'[demo] written to {args.out}: results.md, results.csv, runs.csv, pretrain_curves.png, {plots}, logs/')


if __name__ == '__main__':
    main()
