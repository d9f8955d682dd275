"""The transfer calibration (tools/study.py --transfer --calibrate): its recipes build the models and optimizers
they name, its choice rules, and a --quick calibration end to end."""
import csv
import json
import os.path as osp

import pytest
import torch
from helpers import run_tool

from mcl_mm.experiments import transfer_calibration as tc
from mcl_mm.experiments import transfer_study as ts


def _built(task, recipe):
    """The model and optimizer tools/train.py would build for ``recipe`` (options parsed as the command line
    parses them)."""
    import argparse

    from mmengine.config import Config, DictAction
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', *tc.recipe_options(task, recipe, ts.MODES['full'])]).cfg_options
    cfg = Config.fromfile(osp.join(ts.ROOT, ts.TASKS[task][0]))
    cfg.merge_from_dict(options)
    cfg.model.backbone.init_cfg = None
    scope = 'mmdet' if task == 'voc_det' else 'mmseg'
    import mcl_mm.engine  # noqa: F401  (the hooks the configs name)
    with DefaultScope.overwrite_default_scope(scope):
        import importlib
        importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
        model = MODELS.build(cfg.model)
        model.train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return cfg, model, optim


@pytest.mark.parametrize('task', ['voc_det', 'voc_seg'])
def test_recipe_options_build_the_recipe_they_name(task):
    base = tc.configured(task)
    recipe = tc.Recipe(lr_mult=0.1, bn='frozen', warmup=2, head_lr=2.0, budget=2)
    cfg, model, optim = _built(task, recipe)
    lrs = {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            lrs[id(p)] = group['lr']
    named = dict(model.named_parameters())
    backbone = {n: lrs[id(p)] for n, p in named.items() if n.startswith('backbone.') and id(p) in lrs}
    heads = {n: lrs[id(p)] for n, p in named.items() if not n.startswith('backbone.')}
    # The backbone's absolute lr is the config's x lr_mult whatever the head's lr; the heads run at head_lr.
    assert backbone and all(v == pytest.approx(base['lr'] * 0.1) for v in backbone.values())
    assert heads and all(v == pytest.approx(base['lr'] * 2.0) for v in heads.values())
    norms = [m for m in model.backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)  # statistics frozen in train mode
    assert not any(p.requires_grad for m in norms for p in m.parameters())  # affine frozen
    assert cfg.param_scheduler[0].end == base['warmup_end'] * 2
    if base['by_epoch']:
        assert cfg.train_cfg.max_epochs == base['length'] * 2 == cfg.param_scheduler[1].end
        assert cfg.param_scheduler[1].milestones == [m * 2 for m in base['milestones']]
    else:
        assert cfg.train_cfg.max_iters == base['length'] * 2 == cfg.param_scheduler[1].end
        assert cfg.param_scheduler[1].begin == base['warmup_end'] * 2
    # BN trained: statistics update in train mode, affine learns (in the stages the config does not freeze:
    # Faster R-CNN keeps mmdet's frozen_stages=1, stem and first stage fixed).
    cfg, model, _ = _built(task, tc.Recipe(bn='trained'))
    frozen = cfg.model.backbone.get('frozen_stages', -1)
    fixed = (['bn1', 'conv1'] if frozen >= 0 else []) + [f'layer{i}.' for i in range(1, frozen + 1)]
    norms = {n: m for n, m in model.backbone.named_modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    trained = [m for n, m in norms.items() if not any(n.startswith(f) for f in fixed)]
    assert trained and all(m.training and m.weight.requires_grad for m in trained)
    assert all(not m.training for n, m in norms.items() if any(n.startswith(f) for f in fixed))
    assert (frozen == 1) == (task == 'voc_det')
    # Frozen backbone: no backbone weight learns.
    _, model, _ = _built(task, tc.Recipe(frozen=True))
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_choice_rules():
    r = tc.Recipe
    # The best score wins outright when nothing is within 0.5 point of it.
    scores = {r(lr_mult=1.0): 40.0, r(lr_mult=0.1): 45.0, r(lr_mult=0.01): 44.0}
    assert tc.choose(scores, 'voc_seg') == r(lr_mult=0.1)
    # Within 0.5: the larger backbone lr, then the BN mode the config sets.
    for task in tc.CALIBRATED_TASKS:
        configured = tc.configured(task)['bn']
        other, third = [b for b in tc.BN_OPTIONS if b != configured]
        scores = {r(lr_mult=0.1, bn=other): 45.0, r(bn=other): 44.6, r(bn=configured): 44.6}
        assert tc.choose(scores, task) == r(bn=configured)
        scores = {r(bn=other): 30.0, r(bn=configured): 29.8, r(bn=third): 30.1}
        assert tc.choose(scores, task) == r(bn=configured)
    # Stage 2: the configured warm-up and head lr among equals, otherwise the better one.
    scores = {r(warmup=2, head_lr=2.0): 50.3, r(): 50.0, r(head_lr=0.5): 49.0}
    assert tc.choose(scores, 'voc_seg') == r()
    scores[r(warmup=2, head_lr=2.0)] = 50.6
    assert tc.choose(scores, 'voc_seg') == r(warmup=2, head_lr=2.0)
    # Budget: the smallest after which doubling moves less than one point; the largest, not converged, otherwise.
    assert tc.choose_budget({1: 40.0, 2: 40.9, 4: 45.0}) == (1, True)
    assert tc.choose_budget({1: 40.0, 2: 43.0, 4: 43.5}) == (2, True)
    assert tc.choose_budget({1: 40.0, 2: 43.0, 4: 46.0}) == (4, False)
    assert tc.choose_budget({1: 44.0, 2: 42.5, 4: 42.0}) == (2, True)  # a drop counts as movement too


def test_full_measurements_run_the_configs_as_they_are(tmp_path):
    """The study passes data roots, seeds and initialisations only: the configs' own schedules are what a user
    running them gets, and the budgets the modes state are the configs' own."""
    tasks = ts.DEFAULT_TASKS + ['voc_det_x2', 'voc_seg_x3']
    jobs = ts.plan(ts.MODES['full'], {1: (str(tmp_path / 'data'), [0])}, 1, tasks, str(tmp_path / 'out'))
    scheduled = {}
    for job in jobs:
        if job.tag.startswith('finetune/'):
            options = job.cmd[job.cmd.index('--cfg-options') + 1:]
            scheduled[job.tag] = [
                o for o in options if o.split('=')[0].split('.')[0] in ('train_cfg', 'param_scheduler')
            ]
    assert all(not v for k, v in scheduled.items() if '_x' not in k)
    # Speed or final quality: the budget variants stretch the configured schedule, steps at the same fractions.
    det = tc.configured('voc_det')
    assert f'train_cfg.max_epochs={2 * det["length"]}' in scheduled['finetune/voc_det_x2/mcl/s0/r0']
    assert f'param_scheduler.1.milestones=[{",".join(str(2 * m) for m in det["milestones"])}]' in \
        scheduled['finetune/voc_det_x2/mcl/s0/r0']
    seg = tc.configured('voc_seg')
    assert {
        f'train_cfg.max_iters={3 * seg["length"]}', f'param_scheduler.1.end={3 * seg["length"]}',
        f'param_scheduler.0.end={seg["warmup_end"]}'
    } <= set(scheduled['finetune/voc_seg_x3/random/s0/r0'])
    # ... and the full modes carry no fine-tune budget that could disagree with them.
    from mcl_mm.experiments import demo
    for mode in (ts.MODES['full'], demo.MODES['full']):
        assert not {'det_epochs', 'seg_iters', 'seg_warmup', 'probe_epochs', 'shorten_finetunes'} & set(mode)


@pytest.mark.slow
def test_quick_calibration_end_to_end(tmp_path):
    """Segmentation through every stage on the calibration draw: every run recorded, the choices follow the
    rules from the recorded scores, and a second invocation trains nothing."""
    out = tmp_path / 'out'
    _, log = run_tool('study.py', '--transfer', '--calibrate', '--quick', '--tasks', 'voc_seg', '--out', out,
                      '--workdir', tmp_path, '--docs', tmp_path / 'docs')
    spec = json.load(open(tmp_path / 'data' / f'study_transfer_quick_w{tc.CALIBRATION_DRAW}' / 'spec.json'))
    assert spec['draw'] == tc.CALIBRATION_DRAW
    assert 'pretrain/independent/s100' in log and 'pretrain/mcl' not in log and 'pretrain/dml' not in log
    rows = list(csv.DictReader(open(out / 'calibration.csv')))
    grid = tc.GRIDS['quick']
    stage1 = len(grid['lr_mults']) * len(grid['bn_modes'])
    stage2 = len(grid['warmups']) * len(grid['head_lrs'])
    # members (one seed in quick) + random init in stages 1 and 3; members only in stage 2 and the frozen reference
    assert len(rows) == stage1 * 2 + stage2 + len(grid['budgets']) * 2 + 1
    assert {r['init'] for r in rows if r['stage'] in ('2', '4')} == {'independent'}

    def recipe(row):
        return tc.Recipe(
            float(row['lr_mult']), row['bn'], int(row['warmup']), float(row['head_lr']), int(row['budget']),
            row['frozen'] == '1')

    def scores(stage):
        return {recipe(r): float(r['value']) for r in rows if r['stage'] == stage and r['init'] == 'independent'}

    first = tc.choose(scores('1'), 'voc_seg')
    second = tc.choose(scores('2'), 'voc_seg')
    assert (second.lr_mult, second.bn) == (first.lr_mult, first.bn)
    budget, _ = tc.choose_budget({r.budget: v for r, v in scores('3').items()})
    chosen = json.load(open(out / 'chosen.json'))['voc_seg']
    assert tc.Recipe(**chosen['recipe']) == tc.Recipe(second.lr_mult, second.bn, second.warmup, second.head_lr, budget)
    assert chosen['frozen'] == pytest.approx(next(iter(scores('4').values())), abs=1e-4)
    assert 'model.backbone.frozen_stages=4' not in chosen['options']
    md = (tmp_path / 'docs' / 'calibration.md').read_text()
    assert '**Chosen**' in md and 'fine-tuned ≥ frozen' in md and (tmp_path / 'docs' / 'budget.png').exists()
    recorded = (out / 'calibration.csv').read_text()
    _, again = run_tool('study.py', '--transfer', '--calibrate', '--quick', '--tasks', 'voc_seg', '--out', out,
                        '--workdir', tmp_path)
    assert '] start ' not in again and (out / 'calibration.csv').read_text() == recorded


def test_bad_calibration_options_end_in_one_line():
    code, out = run_tool('study.py', '--calibrate', expect_ok=False)
    assert code == 2 and '--calibrate: an option of --transfer' in out
    code, out = run_tool('study.py', '--transfer', '--calibrate', '--seeds', '2', expect_ok=False)
    assert code == 2 and '--seeds: not options of --calibrate' in out
    code, out = run_tool('study.py', '--transfer', '--calibrate', '--tasks', 'probe', expect_ok=False)
    assert code != 0 and 'the calibration calibrates' in out and 'Traceback' not in out


def test_the_shipped_demo_recipes_are_the_calibrated_ones():
    """configs/demo's Faster R-CNN and FCN hold, at every key the calibration set, the value of the recipe the
    calibration record chose (docs/study/transfer/calibration/chosen.json): the record and the configs cannot drift
    apart."""
    from mmengine.config import Config

    from mcl_mm.utils.arguments import parse_option_value
    chosen = json.load(open(osp.join(ts.ROOT, 'docs', 'study', 'transfer', 'calibration', 'chosen.json')))
    assert set(chosen) == set(tc.CALIBRATED_TASKS)
    for task, record in chosen.items():
        cfg = Config.fromfile(osp.join(ts.ROOT, ts.TASKS[task][0]))
        assert len(record['options']) >= 8, record
        for option in record['options']:
            key, text = option.split('=', 1)
            node = cfg
            for part in key.split('.'):
                node = node[int(part)] if isinstance(node, list) else node[part]
            assert node == parse_option_value(text), f'{ts.TASKS[task][0]}: {key} = {node}, calibrated {text}'
        assert {'recipe', 'score', 'frozen', 'converged'} <= set(record)
