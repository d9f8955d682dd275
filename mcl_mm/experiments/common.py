"""What the demo, the study and the transfer study share: the cached generated world (the demo's world, which the
transfer study and its calibration draw again, among them), "did this run finish", the schedules they pass to the
configs, and the opening of a driver (start the job processes, generate the data, run the plan). Changing how the
experiments run means editing this file."""
import json
import os.path as osp
import time
from collections import OrderedDict
from typing import Callable, List, Optional, Sequence

from mcl_mm.utils.errors import RunRecordError, ToolInputError
from mcl_mm.utils.logs import run_status
from mcl_mm.utils.owned_folders import replace_folder
from mcl_mm.utils.paths import project_root
from .jobs import Job, run_jobs, start_processes

ROOT = project_root()


def cached_world(data_root: str, spec: dict, generate: Callable[[], None], name: str) -> None:
    """Run ``generate`` (which writes the world into ``data_root``) unless ``data_root/spec.json`` says the same
    ``spec`` was generated there before; a folder of ours from another spec is replaced first, a folder of the
    user's is refused (:func:`~mcl_mm.utils.owned_folders.replace_folder`)."""
    stamp = osp.join(data_root, 'spec.json')
    if osp.exists(stamp) and json.load(open(stamp)) == json.loads(json.dumps(spec)):
        print(f'[{name}] data: reusing {data_root}')
        return
    start = time.time()
    replace_folder(data_root, f'{name} data generator')
    generate()
    with open(stamp, 'w') as f:
        json.dump(spec, f)
    print(f'[{name}] data: generated {data_root} in {time.time() - start:.0f} s')


def generate_demo_world(data_root: str, mode: dict, quick: bool, draw: int = 0) -> None:
    """Draw ``draw`` of the digits world in its real file formats; skipped when the same spec was generated
    before. Every generator of draw ``w`` is seeded ``seed + WORLD_DRAW_STRIDE * w`` (draw 0: the demo's world)."""
    spec = dict(version=3, quick=quick, **{k: mode[k] for k in ('two_digits', 'digits_cls', 'coco', 'voc', 'seg')})
    if draw:
        spec['draw'] = draw
    cached_world(data_root, spec, lambda: _write_world(data_root, mode, WORLD_DRAW_STRIDE * draw), 'demo')


# Larger than the number of seeded generators in one world, so that no two draws share a generator's seed.
WORLD_DRAW_STRIDE = 10


def _write_world(data_root: str, mode: dict, offset: int = 0) -> None:
    from .world import (TWO_DIGIT_WORLD, DigitObjects, make_coco_instances, make_digit_classification_folder,
                        make_semantic_set, make_voc_detection)
    digits = DigitObjects.classes
    # Pretraining: the study's two-digit world at 64 px (configs/demo/mcl_resnet18w16x2_1xb64-15e_two-digits.py).
    make_digit_classification_folder(
        osp.join(data_root, 'two_digits'),
        train_per_class=mode['two_digits'][0],
        val_per_class=mode['two_digits'][1],
        image_size=64,
        seed=offset + 0,
        digits_per_image=2,
        **TWO_DIGIT_WORLD)
    make_digit_classification_folder(
        osp.join(data_root, 'digits_cls'),
        train_per_class=mode['digits_cls'][0],
        val_per_class=mode['digits_cls'][1],
        image_size=32,
        seed=offset + 0)
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
            seed=offset + seed,
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
        seed=offset + 3,
        drawer=train_digits)
    make_voc_detection(
        osp.join(data_root, 'VOCdevkit'), {'VOC2007': {
            'test': test
        }},
        image_size=(96, 128),
        class_names=digits,
        seed=offset + 5,
        drawer=val_digits)
    for split, n, seed, drawer in (('train', mode['seg'][0], 4, train_digits), ('val', mode['seg'][1], 6, val_digits)):
        make_semantic_set(
            osp.join(data_root, 'VOCdevkit', 'VOC2012'),
            'voc12', {split: n},
            image_size=(96, 128),
            num_classes=10,
            seed=offset + seed,
            drawer=drawer)


def select_draws(draws: 'OrderedDict[int, List[int]]', only: Optional[str]) -> 'OrderedDict[int, List[int]]':
    """``draws`` restricted to ``only`` (``'1'``, ``'0,1'``; None: all), keeping each draw's seeds."""
    if not only:
        return draws
    try:
        chosen = [int(d) for d in only.split(',')]
    except ValueError:
        raise ToolInputError(f'--draws takes draw numbers such as 1 or 0,1, got {only!r}') from None
    unknown = [d for d in chosen if d not in draws]
    if unknown:
        raise ToolInputError(f'--draws {only}: no draw {unknown}; this study has draws {list(draws)} '
                             '(--world-draws sets how many)')
    return OrderedDict((d, draws[d]) for d in chosen)


def check_disjoint_draws(draws, earlier) -> None:
    """--merge-results pools draws of two invocations: refused when a draw or a seed is in both (``draws`` and
    ``earlier``: draw -> its seeds)."""
    both = sorted(set(earlier) & set(draws))
    if both:
        raise ToolInputError(f'--merge-results: draw(s) {both} are also in this run; pass --draws with the other '
                             'draws only')
    seeds = sorted({s for v in earlier.values() for s in v} & {s for v in draws.values() for s in v})
    if seeds:  # a different --seeds count shifts every draw's seeds; pairing across invocations would break
        raise ToolInputError(f'--merge-results: seed(s) {seeds} are in both; use the --seeds the earlier '
                             'invocation used')


def finished(work_dir: str, keys: Sequence[str]) -> bool:
    """Whether the run in ``work_dir`` logged one of ``keys`` at its configured end (a killed one has not; an
    unreadable or absent work dir has not either)."""
    try:
        return run_status(work_dir, keys)[0]
    except (RunRecordError, OSError):
        return False


def run_plan(name: str,
             out: str,
             make_data: Sequence[Callable[[], None]],
             make_jobs: Callable[[], List[Job]],
             parallel: int,
             cwd: Optional[str] = None) -> None:
    """The opening every driver shares: start the process the jobs are forked from (its imports overlap the data
    generation), generate the data, then run the plan (``make_jobs`` is called once the data exist)."""
    processes = start_processes(osp.join(out, 'logs'))
    try:
        for generate in make_data:
            generate()
    except BaseException:
        processes.close()
        raise
    run_jobs(make_jobs(), osp.join(out, 'logs'), cwd or ROOT, parallel, name, processes)


def schedule_options(epochs: int) -> List[str]:
    """--cfg-options that shorten the pretraining configs' 5 warm-up + cosine epochs (only --quick changes them)."""
    warmup = min(5, epochs - 1)
    return [
        f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.end={warmup}', f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={epochs}', f'train_cfg.val_interval={max(1, epochs // 6)}',
        f'default_hooks.checkpoint.interval={epochs}'
    ]


def finetune_schedule(task: str, mode: dict) -> List[str]:
    """--cfg-options shortening a fine-tune to ``mode``'s budget where the mode says ``shorten_finetunes`` (the
    --quick pipeline checks): ``voc_seg`` (FCN: iterations and warm-up), ``probe`` (the linear probe: epochs, steps
    at 60 / 80 %) or detection (``coco`` / ``voc_det``: epochs). Otherwise none: a measurement runs the fine-tune
    configs as they are, so that a user running a config gets the recipe the tables show."""
    if not mode.get('shorten_finetunes'):
        return []
    if task == 'voc_seg':
        iters, warmup = mode['seg_iters'], mode['seg_warmup']
        return [
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}', f'param_scheduler.0.end={warmup}',
            f'param_scheduler.1.begin={warmup}', f'param_scheduler.1.end={iters}',
            f'default_hooks.checkpoint.interval={iters}'
        ]
    if task == 'probe':
        e = mode['probe_epochs']
        return [
            f'train_cfg.max_epochs={e}', f'train_cfg.val_interval={e}', f'default_hooks.checkpoint.interval={e}',
            f'param_scheduler.milestones=[{max(1, e * 3 // 5)},{max(1, e * 4 // 5)}]'
        ]
    e = mode['det_epochs']
    return [
        f'train_cfg.max_epochs={e}', f'train_cfg.val_interval={e}', f'param_scheduler.1.end={e}',
        f'param_scheduler.1.milestones=[{max(1, e - 2)}]', f'default_hooks.checkpoint.interval={e}'
    ]
