"""Calibrating the transfer study's fine-tune recipes before it measures anything (the protocol, fixed before the
first run: docs/study/transfer/README.md, "Calibration protocol").

A recipe is sound when fine-tuning a pretrained backbone ends at least where the same backbone frozen ends. The
calibration chooses the detection (Faster R-CNN) and segmentation (FCN) recipes on data and initialisations the
measurement never uses: draw ``CALIBRATION_DRAW`` of the world (its held-out-writer evaluation splits are the
validation splits here) and member 0 of *independent* cohorts pretrained with ``CALIBRATION_SEEDS``; never a DML
or MCL member. Stages, each keeping the previous stages' choice:

1. backbone lr multiplier x batch-norm mode (trained / statistics frozen / statistics and affine frozen);
2. warm-up length x head lr (the backbone's absolute lr kept);
3. budget B, 2B, 4B (the lr schedule stretched with it).

A stage's score is the mean over the independent members; the best score wins, and recipes within
``TIE_POINTS`` of it go to the larger backbone lr multiplier, then to the configured setting. Random
initialisation runs the stage-1 and stage-3 recipes beside them, reported and never used to choose. Finally the
same members run frozen (``frozen_stages=4``) with the chosen recipe: acceptance needs fine-tuned >= frozen, and
a budget after which doubling moves the score by less than ``CONVERGED_POINTS``.

Writes calibration.md, calibration.csv (every run), chosen.json (each task's recipe and the --cfg-options that
make it) and budget.png.
"""
import json
import os
import os.path as osp
import shutil
import statistics
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from mcl_mm.utils.errors import RunRecordError, ToolInputError
from mcl_mm.utils.logs import last_metrics
from mcl_mm.utils.owned_folders import claim_folder
from .common import finished, generate_demo_world
from .jobs import Job, host_description, run_jobs
from .transfer_study import MODES, ROOT, TASKS, budget_options, configured, finetune_job, pretrain_jobs, world_root

CALIBRATION_DRAW = 100
CALIBRATION_SEEDS = (100, 101, 102)
TIE_POINTS = 0.5
CONVERGED_POINTS = 1.0
CALIBRATED_TASKS = ('voc_det', 'voc_seg')
# The grid of the protocol; --quick: a pipeline check on one seed and a smaller grid.
GRIDS = {
    'full':
    dict(
        lr_mults=(1.0, 0.1, 0.01),
        bn_modes=('trained', 'norm_eval', 'frozen'),
        warmups=(1, 2),
        head_lrs=(0.5, 1.0, 2.0),
        budgets=(1, 2, 4),
        seeds=CALIBRATION_SEEDS),
    'quick':
    dict(
        lr_mults=(1.0, 0.1),
        bn_modes=('trained', 'frozen'),
        warmups=(1, ),
        head_lrs=(1.0, 2.0),
        budgets=(1, 2),
        seeds=CALIBRATION_SEEDS[:1]),
}
# --cfg-options of each batch-norm mode of the backbone.
BN_OPTIONS = OrderedDict([
    ('trained', ['model.backbone.norm_eval=False', 'model.backbone.norm_cfg.requires_grad=True']),
    ('norm_eval', ['model.backbone.norm_eval=True', 'model.backbone.norm_cfg.requires_grad=True']),
    ('frozen', ['model.backbone.norm_eval=True', 'model.backbone.norm_cfg.requires_grad=False']),
])
BN_LABELS = dict(
    trained='statistics and affine trained', norm_eval='statistics frozen, affine trained', frozen='both frozen')


@dataclass(frozen=True)
class Recipe:
    """One fine-tune recipe, relative to its config: the backbone's lr as a multiple of the config's lr, the
    backbone's batch-norm mode, warm-up and head lr as multiples of the config's, the budget as a multiple of
    the config's, or the backbone frozen (``frozen_stages=4``; ``lr_mult`` and ``bn`` then do not apply)."""
    lr_mult: float = 1.0
    bn: str = 'trained'
    warmup: int = 1
    head_lr: float = 1.0
    budget: int = 1
    frozen: bool = False

    @property
    def key(self) -> str:
        """The recipe's folder name; equal recipes of different stages share their runs."""
        body = 'frozen' if self.frozen else f'lr{self.lr_mult:g}_bn-{self.bn}'
        return f'{body}_wu{self.warmup}_head{self.head_lr:g}_b{self.budget}'

    def describe(self) -> str:
        """A table's reading of the recipe."""
        backbone = 'frozen backbone' if self.frozen else \
            f'backbone lr × {self.lr_mult:g}, BN {BN_LABELS[self.bn]}'
        return f'{backbone}; warm-up × {self.warmup}, head lr × {self.head_lr:g}, budget × {self.budget}'


def recipe_options(task: str, recipe: Recipe, mode: dict) -> List[str]:
    """The --cfg-options that turn ``task``'s config into ``recipe``."""
    head_lr = configured(task)['lr'] * recipe.head_lr
    options = [f'optim_wrapper.optimizer.lr={head_lr:g}']
    if recipe.frozen:
        options.append('model.backbone.frozen_stages=4')
    else:  # the backbone's lr relative to the optimizer's (the head's) lr
        options.append(f'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult={recipe.lr_mult / recipe.head_lr:g}')
        options += BN_OPTIONS[recipe.bn]
    return options + budget_options(task, recipe.budget, mode, recipe.warmup)


def stage_recipes(stage: int, chosen: Optional[Recipe], grid: dict) -> List[Recipe]:
    """The recipes of ``stage`` (1, 2, 3) given the previous stages' ``chosen`` recipe."""
    if stage == 1:
        return [Recipe(lr_mult=m, bn=b) for m in grid['lr_mults'] for b in grid['bn_modes']]
    if stage == 2:
        return [replace(chosen, warmup=w, head_lr=h) for w in grid['warmups'] for h in grid['head_lrs']]
    return [replace(chosen, budget=b) for b in grid['budgets']]


def choose(scores: Dict[Recipe, float], task: str) -> Recipe:
    """The highest-scoring recipe; those within ``TIE_POINTS`` of it go to the larger backbone lr multiplier, then
    to the configured setting (the config's BN mode, warm-up × 1, head lr × 1), then to the higher score."""
    best = max(scores.values())
    near = [r for r, s in scores.items() if s >= best - TIE_POINTS]
    bn = configured(task)['bn']
    return max(near, key=lambda r: (r.lr_mult, r.bn == bn, r.warmup == 1, r.head_lr == 1.0, scores[r]))


def choose_budget(scores: Dict[int, float]) -> Tuple[int, bool]:
    """(budget, converged): the smallest budget after which doubling moves the score by less than
    ``CONVERGED_POINTS``; the largest budget, not converged, when none does."""
    budgets = sorted(scores)
    for small, large in zip(budgets, budgets[1:]):
        if abs(scores[large] - scores[small]) < CONVERGED_POINTS:
            return small, True
    return budgets[-1], False


def init_seeds(init: str, seeds: Sequence[int]) -> Sequence[int]:
    """The seeds ``init`` is fine-tuned with: every calibration seed for the members, the first for random init
    (reported beside them, never used to choose)."""
    return seeds if init != 'random' else seeds[:1]


def run_dir(out: str, task: str, recipe: Recipe, init: str, seed: int) -> str:
    """The work dir of one calibration fine-tune."""
    return osp.join(out, 'runs', task, recipe.key, init, f's{seed}')


def stage_jobs(out: str, data_root: str, mode: dict, task: str, recipes: Sequence[Recipe], inits: Sequence[str],
               seeds: Sequence[int], ready: set) -> List[Job]:
    """The fine-tunes of ``recipes`` not yet finished (``ready``: backbones already extracted)."""
    metric = TASKS[task][2]
    jobs = []
    for recipe in recipes:
        for init in inits:
            for seed in init_seeds(init, seeds):
                work = run_dir(out, task, recipe, init, seed)
                if finished(work, [metric]):
                    continue
                deps = [] if init == 'random' else [f'extract/{init}/s{seed}']
                job = finetune_job(task, init, seed, work, f'{task}/{recipe.key}/{init}/s{seed}', data_root, out,
                                   recipe_options(task, recipe, mode), [d for d in deps if d not in ready])
                job.cost *= recipe.budget
                jobs.append(job)
    return jobs


def score_of(out: str, task: str, recipe: Recipe, init: str, seed: int) -> float:
    """The run's validation score in % (mAP x 100, mIoU as logged)."""
    work = run_dir(out, task, recipe, init, seed)
    _, _, metric, scale, _ = TASKS[task]
    if not finished(work, [metric]):
        raise RunRecordError(f'calibration run {work} did not finish; rerun with --skip-finished')
    return last_metrics(work, [metric])[metric] * scale


class Calibration:
    """The stages of one calibration, run and recorded in ``out``."""

    def __init__(self, out: str, data_root: str, mode: dict, grid: dict, jobs: int):
        self.out, self.data_root, self.mode, self.grid, self.jobs = out, data_root, mode, grid, jobs
        self.rows = []  # (task, stage, recipe, init, seed, value)
        self.ready = set()

    def pretrain(self) -> None:
        """Independent cohorts of the calibration seeds, member 0 extracted (kept when already there)."""
        todo = []
        for seed in self.grid['seeds']:
            jobs, done = pretrain_jobs('independent', seed, self.mode, self.data_root, self.out, skip_finished=True)
            todo += jobs
            if done:
                self.ready.add(f'extract/independent/s{seed}')
        self._run(todo)
        self.ready |= {f'extract/independent/s{seed}' for seed in self.grid['seeds']}

    def stage(self, task: str, stage: int, recipes: Sequence[Recipe], with_random: bool) -> Dict[Recipe, float]:
        """Run ``recipes`` for the independent members (and random init), record every run; returns each
        recipe's score: the mean over the members."""
        inits = ['independent'] + (['random'] if with_random else [])
        self._run(stage_jobs(self.out, self.data_root, self.mode, task, recipes, inits, self.grid['seeds'], self.ready))
        scores = OrderedDict()
        for recipe in recipes:
            for init in inits:
                for seed in init_seeds(init, self.grid['seeds']):
                    self.rows.append((task, stage, recipe, init, seed, score_of(self.out, task, recipe, init, seed)))
            scores[recipe] = statistics.mean(v for t, s, r, i, _, v in self.rows
                                             if (t, s, r, i) == (task, stage, recipe, 'independent'))
        return scores

    def task(self, task: str) -> dict:
        """The three stages and the frozen reference of one task; returns its outcome."""
        stage1 = self.stage(task, 1, stage_recipes(1, None, self.grid), with_random=True)
        chosen = choose(stage1, task)
        stage2 = self.stage(task, 2, stage_recipes(2, chosen, self.grid), with_random=False)
        chosen = choose(stage2, task)
        stage3 = self.stage(task, 3, stage_recipes(3, chosen, self.grid), with_random=True)
        budget, converged = choose_budget({r.budget: s for r, s in stage3.items()})
        chosen = replace(chosen, budget=budget)
        frozen = self.stage(task, 4, [replace(chosen, frozen=True, lr_mult=1.0, bn='trained')], with_random=False)
        frozen_score = next(iter(frozen.values()))
        return dict(
            recipe=chosen,
            score=stage3[chosen],
            frozen=frozen_score,
            converged=converged,
            budget_curve={
                r.budget: s
                for r, s in stage3.items()
            })

    def _run(self, jobs: List[Job]) -> None:
        if jobs:
            run_jobs(jobs, osp.join(self.out, 'logs'), ROOT, self.jobs, 'transfer-calibration')


def write_csv(rows, path: str) -> None:
    """Every calibration run: ``task,stage,recipe,lr_mult,bn,warmup,head_lr,budget,frozen,init,seed,value``."""
    with open(path, 'w') as f:
        f.write('task,stage,recipe,lr_mult,bn,warmup,head_lr,budget,frozen,init,seed,value\n')
        for task, stage, recipe, init, seed, value in rows:
            r = asdict(recipe)
            f.write(f'{task},{stage},{recipe.key},{r["lr_mult"]:g},{r["bn"]},{r["warmup"]},{r["head_lr"]:g},'
                    f'{r["budget"]},{int(r["frozen"])},{init},{seed},{value:.4f}\n')


def markdown(rows, outcomes: Dict[str, dict], grid: dict, mode: dict, minutes: float, mode_name: str) -> str:
    """calibration.md: every stage's table, the choices and the acceptance checks."""
    stage_names = {
        1: 'Stage 1: backbone lr × batch-norm mode',
        2: 'Stage 2: warm-up × head lr',
        3: 'Stage 3: budget',
        4: 'Frozen reference (the chosen recipe, `frozen_stages=4`)'
    }
    seeds = list(grid['seeds'])
    lines = [
        f'# Transfer calibration ({mode_name} mode)', '',
        f'Written by `python tools/study.py --transfer --calibrate` on {time.strftime("%Y-%m-%d")}: world draw '
        f'{CALIBRATION_DRAW} (validation = its held-out-writer splits), member 0 of independent ×2 cohorts '
        f'pretrained with seeds {", ".join(map(str, seeds))} ({mode["pre_epochs"]} epochs), random init with seed '
        f'{seeds[0]}; {minutes:.0f} min on {host_description()}. Scores in % (VOC mAP, mIoU); a recipe\'s score is '
        f'the mean over the independent members; ties within {TIE_POINTS} point go to the larger backbone lr, then '
        'to the configured setting.', ''
    ]
    for task, outcome in outcomes.items():
        lines += [f'## {TASKS[task][4]} ({TASKS[task][0]})', '']
        for stage in (1, 2, 3, 4):
            recipes = list(OrderedDict.fromkeys(r for t, s, r, *_ in rows if (t, s) == (task, stage)))
            header = ['recipe'] + [f'member s{s}' for s in seeds] + ['mean', 'random init']
            lines += [f'### {stage_names[stage]}', '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
            for recipe in recipes:
                values = {(i, s): v for t, st, r, i, s, v in rows if (t, st, r) == (task, stage, recipe)}
                members = [values[('independent', s)] for s in seeds]
                random = values.get(('random', seeds[0]))
                cells = [recipe.describe()] + [f'{v:.2f}' for v in members] + [
                    f'**{statistics.mean(members):.2f}**', '' if random is None else f'{random:.2f}'
                ]
                lines.append('| ' + ' | '.join(cells) + ' |')
            lines.append('')
        recipe = outcome['recipe']
        curve = ', '.join(f'{b}× {s:.2f}' for b, s in sorted(outcome['budget_curve'].items()))
        gap = outcome['score'] - outcome['frozen']
        lines += [
            f'**Chosen**: {recipe.describe()}.', '',
            f'- fine-tuned ≥ frozen: {"yes" if gap >= 0 else "**no**"} ({outcome["score"]:.2f} against '
            f'{outcome["frozen"]:.2f}, {gap:+.2f});',
            f'- near convergence: {"yes" if outcome["converged"] else "**no**"} (budget curve {curve}; '
            f'threshold {CONVERGED_POINTS} point per doubling).', ''
        ]
    lines += ['![budget curves](budget.png)', '']
    return '\n'.join(lines)


def plot_budget(rows, outcomes: Dict[str, dict], path: str) -> None:
    """Each task's stage-3 score against the budget: the members' mean, random init and the frozen reference."""
    from .report import _panels, _save
    fig, axes = _panels(len(outcomes), per_row=len(outcomes))
    for ax, (task, outcome) in zip(axes, outcomes.items()):
        budgets = sorted(outcome['budget_curve'])
        ax.plot(budgets, [outcome['budget_curve'][b] for b in budgets], 'o-', label='independent members (mean)')
        random = {r.budget: v for t, s, r, i, _, v in rows if (t, s, i) == (task, 3, 'random')}
        if random:
            ax.plot(sorted(random), [random[b] for b in sorted(random)], 's--', label='random init')
        ax.axhline(outcome['frozen'], color='grey', linestyle=':', label=f'frozen, × {outcome["recipe"].budget}')
        ax.set_xscale('log', base=2)
        ax.set_xticks(budgets, [f'{b}×' for b in budgets])
        ax.set_xlabel('budget (× the configured one)')
        ax.set_ylabel(f'{TASKS[task][4]} (%)')
        ax.set_title(task)
        ax.legend(fontsize=8)
    _save(fig, path)


def run_calibration(out: str,
                    quick: bool = False,
                    tasks: Optional[str] = None,
                    jobs: int = 2,
                    docs: Optional[str] = None,
                    workdir: str = ROOT) -> str:
    """Generate the calibration draw, pretrain, run the stages of every task; returns calibration.md. Finished
    runs in ``out`` are kept (an interrupted calibration resumes where it stopped)."""
    mode_name = 'quick' if quick else 'full'
    mode, grid = MODES[mode_name], GRIDS[mode_name]
    task_list = tasks.split(',') if tasks else list(CALIBRATED_TASKS)
    unknown = [t for t in task_list if t not in CALIBRATED_TASKS]
    if unknown:
        raise ToolInputError(f'--tasks {tasks}: the calibration calibrates {list(CALIBRATED_TASKS)}')
    out = osp.abspath(out)
    claim_folder(out, 'transfer calibration')
    start, timing = time.time(), osp.join(out, 'timing.json')
    data_root = world_root(workdir, quick, CALIBRATION_DRAW)
    generate_demo_world(data_root, mode, quick, CALIBRATION_DRAW)
    calibration = Calibration(out, data_root, mode, grid, jobs)
    calibration.pretrain()
    outcomes = OrderedDict((task, calibration.task(task)) for task in task_list)
    earlier = json.load(open(timing))['minutes'] if osp.exists(timing) else 0.0
    minutes = earlier + (time.time() - start) / 60
    with open(timing, 'w') as f:
        json.dump(dict(minutes=minutes, jobs=jobs), f)
    write_csv(calibration.rows, osp.join(out, 'calibration.csv'))
    with open(osp.join(out, 'chosen.json'), 'w') as f:
        json.dump(
            {
                task:
                dict(
                    recipe=asdict(o['recipe']),
                    options=recipe_options(task, o['recipe'], mode),
                    score=o['score'],
                    frozen=o['frozen'],
                    converged=o['converged'])
                for task, o in outcomes.items()
            },
            f,
            indent=1)
    text = markdown(calibration.rows, outcomes, grid, mode, minutes, mode_name)
    with open(osp.join(out, 'calibration.md'), 'w') as f:
        f.write(text)
    plot_budget(calibration.rows, outcomes, osp.join(out, 'budget.png'))
    print('\n' + text)
    if docs:
        os.makedirs(docs, exist_ok=True)
        for name in ('calibration.md', 'calibration.csv', 'chosen.json', 'budget.png'):
            shutil.copy(osp.join(out, name), osp.join(docs, name))
    print(f'[transfer-calibration] written to {out}' + (f' and {docs}' if docs else ''))
    return text
