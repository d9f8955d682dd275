"""The self-supervised demo (``tools/demo.py --selfsup``): MoCo v2 + MCL x2 and MoCo v2 x2 pretrained on the
demo's images without labels, member 0 of each evaluated by a linear probe (frozen backbone) and fine-tuned to
Faster R-CNN (VOC format) beside random initialisation. The world, the fine-tune jobs and the run itself are the
demo's (``demo.py``)."""
import os.path as osp
import sys
from collections import OrderedDict
from typing import List, Optional

from .common import finetune_schedule
from .demo import ARM_LABELS, MODES, ROOT, TRANSFER, DemoRun, execute, init_options, last_val, transfer_job
from .jobs import Job
from .report import bar_chart, plot_curves, write_table

# No labels in pretraining; a linear probe and detection transfer.
SELFSUP_PRETRAIN = OrderedDict([('moco_mcl', 'configs/demo/mocov2-mcl_resnet18w16x2_1xb64-30e_digits.py'),
                                ('moco', 'configs/demo/mocov2_resnet18w16x2_1xb64-30e_digits.py')])
LINEAR_PROBE = 'configs/demo/linear_resnet18w16_1xb64-20e_digits.py'
SELFSUP_INITS = ('moco_mcl', 'moco', 'random')
SELFSUP_COLUMNS = OrderedDict([('accuracy/top1', 'linear-probe top-1'), ('pascal_voc/mAP', 'VOC mAP')])


def selfsup_plan(run: DemoRun, mode: dict) -> List[Job]:
    """MoCo-MCL x2 and MoCo x2 without labels -> member 0 extracted -> linear probe and VOC detection."""
    py, train, out = sys.executable, osp.join(ROOT, 'tools', 'train.py'), run.out
    epochs = mode['ssl_epochs']
    jobs = []
    for seed in range(run.seeds):
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
                    *init_options(out, init, seed), *finetune_schedule('probe', mode)
                ],
                    cost=0.5,
                    deps=[] if init == 'random' else [f'extract/{init}/s{seed}'],
                    work_dir=work))
            jobs.append(transfer_job(run, mode, 'voc_det', TRANSFER['voc_det'], init, seed))
    return jobs


def selfsup_collect(run: DemoRun) -> str:
    """The self-supervised demo's table and plots (linear probe, VOC mAP per initialisation); its markdown."""
    rows = OrderedDict((ARM_LABELS[i], {}) for i in SELFSUP_INITS)
    for seed in range(run.seeds):
        for init in SELFSUP_INITS:
            for folder in ('probe', 'transfer/voc_det'):
                for key, value in last_val(f'{run.out}/{folder}/{init}/s{seed}', SELFSUP_COLUMNS).items():
                    rows[ARM_LABELS[init]].setdefault(key, []).append(value * (100 if key == 'pascal_voc/mAP' else 1))
    markdown = write_table(rows, SELFSUP_COLUMNS, run.out, 'results', first_column='pretraining (no labels)')
    bar_chart(rows, SELFSUP_COLUMNS, osp.join(run.out, 'selfsup.png'),
              f'Self-supervised pretraining on the digits ({run.seeds} seed{"s" if run.seeds > 1 else ""})')
    plot_curves(
        OrderedDict((arm, f'{run.out}/pretrain/{arm}/s0') for arm in SELFSUP_PRETRAIN),
        osp.join(run.out, 'pretrain_curves.png'),
        'self-supervised pretraining, seed 0',
        metrics=[],
        losses=['loss_vcl', 'loss_icl', 'loss_soft_vcl', 'loss_soft_icl'])
    return markdown


def run_selfsup_demo(out: Optional[str] = None,
                     quick: bool = False,
                     seeds: Optional[int] = None,
                     jobs: int = 2,
                     workdir: str = ROOT) -> str:
    """Generate the world, run the self-supervised plan, tabulate and plot; returns the results markdown."""
    mode = MODES['quick' if quick else 'full']
    run = DemoRun(out=osp.abspath(out or 'outputs/demo_selfsup'), seeds=seeds or mode['seeds'])
    return execute(run, mode, quick, workdir, jobs, selfsup_plan, lambda: selfsup_collect(run), 'selfsup.png')
