"""The evidence study: its world, its statistics, and tools/study.py end to end (--quick)."""
import csv
import json
import math
import os.path as osp
import shutil
import statistics
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, run_tool

from mcl_mm.experiments import study
from mcl_mm.experiments.common import select_draws
from mcl_mm.experiments.report import paired_difference_plot, paired_interval, seed_scatter
from mcl_mm.experiments.world import DigitObjects, make_digit_classification_folder


def test_two_digit_world_has_100_classes_from_disjoint_writers(tmp_path):
    from mmpretrain.datasets import CustomDataset
    classes = make_digit_classification_folder(
        str(tmp_path), train_per_class=2, val_per_class=1, seed=0, digits_per_image=2)
    assert classes == [f'{n:02d}' for n in range(100)]
    train = CustomDataset(data_root=str(tmp_path), data_prefix='train', pipeline=[])
    val = CustomDataset(data_root=str(tmp_path), data_prefix='val', pipeline=[])
    assert list(train.CLASSES) == classes and len(train) == 200 and len(val) == 100
    assert np.bincount(train.get_gt_labels()).tolist() == [2] * 100
    from PIL import Image
    assert Image.open(train.get_data_info(0)['img_path']).size == (32, 32)
    # Validation glyphs are handwriting the training images never use.
    train_pool, val_pool = DigitObjects('train').images, DigitObjects('val').images
    overlap = (train_pool.reshape(len(train_pool), 1, -1) == val_pool.reshape(1, len(val_pool), -1)).all(-1)
    assert overlap.sum() <= 2  # a couple of identical 8x8 bitmaps exist in the source data itself
    with pytest.raises(ValueError, match='digits_per_image'):
        make_digit_classification_folder(str(tmp_path / 'x'), digits_per_image=3)


def test_paired_interval_against_hand_computation():
    values, reference = [71.0, 73.5, 70.0, 74.0, 72.5], [70.0, 72.0, 70.5, 72.0, 71.0]
    diffs = [1.0, 1.5, -0.5, 2.0, 1.5]
    mean = sum(diffs) / 5
    sd = math.sqrt(sum((d - mean)**2 for d in diffs) / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t(0.975, 4 degrees of freedom), from a table
    got = paired_interval(values, reference)
    assert got == pytest.approx((mean, mean - half, mean + half), rel=1e-9)
    assert math.isnan(paired_interval([1.0], [0.5])[1])
    with pytest.raises(ValueError):
        paired_interval([1.0, 2.0], [1.0])  # unpaired seeds are an error, not a silent truncation


def test_members_that_never_left_chance_are_counted_per_draw_and_kept():
    """A member below 5 % top-1 is named in results.md's count; it stays in the paired tables."""
    member0 = {'independent': {0: 1.40, 1: 95.0, 5: 96.0, 6: 4.99}, 'mcl': {0: 96.0, 1: 96.5, 5: 5.0, 6: 97.0}}
    table = OrderedDict()
    for arm, values in member0.items():
        table[arm] = OrderedDict((m, OrderedDict()) for m in study.METRICS)
        for seed, v in values.items():
            table[arm]['val/member_0/top1'][seed] = v
            table[arm]['val/member_1/top1'][seed] = 96.0
            table[arm]['val/member_mean/top1'][seed] = (v + 96.0) / 2
    failed = study.failed_members(table)
    assert failed == {'independent': [(0, 0, 1.40), (6, 0, 4.99)], 'mcl': []}  # 5.0 itself is not below 5 %
    draws = OrderedDict([(0, [0, 1]), (1, [5, 6])])
    text = '\n'.join(study._failed_lines(table, {'independent': 'independent', 'mcl': 'MCL'}, draws))
    assert '| independent | 1 of 4 (seed 0 member 0: 1.40 %) | 1 of 4 (seed 6 member 0: 4.99 %) |' in text
    assert '| MCL | 0 of 4 | 0 of 4 |' in text


def test_plots_wrap_many_metrics_into_rows_of_three(tmp_path):
    import matplotlib.image as mpimg
    per_seed = {
        arm: {
            f'm{i}': {
                s: float(s + i + k)
                for s in range(4)
            }
            for i in range(5)
        }
        for k, arm in enumerate(('independent', 'mcl'))
    }
    columns = OrderedDict((f'm{i}', f'metric {i}') for i in range(5))
    labels = {'independent': 'independent', 'mcl': 'MCL'}
    wide = mpimg.imread(seed_scatter(per_seed, labels, columns, str(tmp_path / 'values.png')))
    paired = mpimg.imread(
        paired_difference_plot(per_seed, [('mcl', 'independent')], columns, labels, str(tmp_path / 'paired.png')))
    for image in (wide, paired):
        height, width = image.shape[:2]
        assert width / height < 3.0  # 3 panels x 2 rows (18 x 8.4 in: 2.1), not 5 in a row (30 x 4 in: 7.5)


def test_every_arm_shares_the_recipe_and_differs_only_in_its_objective():
    from mmengine.config import Config
    cfgs = {arm: Config.fromfile(f'{REPO}/{spec[1]}') for arm, spec in study.ARMS.items()}
    reference = cfgs['independent']
    for arm, cfg in cfgs.items():
        for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg',
                    'data_preprocessor', 'randomness'):
            assert cfg[key] == reference[key], (arm, key)
        assert cfg.model.members == reference.model.members, arm
        assert cfg.model.get('num_members') == 2
    assert cfgs['mcl'].model.loss == cfgs['lmcl_v2'].model.loss  # the same contrast weights and temperatures
    flips = [t for t in reference.train_pipeline if t['type'] == 'RandomFlip']
    assert not flips  # a mirrored "37" is not a 37


@pytest.mark.slow
def test_quick_study_end_to_end(tmp_path):
    """The default arms on two draws of the world, one seed each: per-draw and pooled paired tables."""
    out = tmp_path / 'out'
    _, log = run_tool(
        'study.py', '--quick', '--out', out, '--workdir', tmp_path, '--docs', tmp_path / 'docs', timeout=900)
    assert 'ETA' in log and '[study] data: generated' in log
    # Two draws: two generated worlds whose images differ.
    roots = [study.world_root(str(tmp_path), 'quick', d) for d in (0, 1)]
    images = [sorted(p.relative_to(r) for p in Path(r).rglob('*.png')) for r in roots]
    assert images[0] == images[1] and len(images[0]) == 300  # the same classes and counts ...
    differ = [(Path(roots[0]) / p).read_bytes() != (Path(roots[1]) / p).read_bytes() for p in images[0]]
    assert sum(differ) > 290, sum(differ)  # ... from other digit glyphs
    rows = list(csv.DictReader(open(out / 'results.csv')))
    assert set(rows[0]) == {'arm', 'seed', 'metric', 'value'}
    cells = {(r['arm'], r['seed'], r['metric']) for r in rows}
    assert cells == {(a, str(s), m) for a in study.DEFAULT_ARMS for s in (0, 1) for m in study.METRICS}
    assert json.load(open(out / 'world_draws.json')) == {'draw 0': [0], 'draw 1': [1]}
    values = {(r['arm'], r['seed'], r['metric']): float(r['value']) for r in rows}
    for arm in study.DEFAULT_ARMS:
        for seed in '01':
            member_mean = statistics.mean(values[(arm, seed, f'val/member_{i}/top1')] for i in range(2))
            assert values[(arm, seed, 'val/member_mean/top1')] == pytest.approx(member_mean, abs=1e-3)
    table = (out / 'results.md').read_text()
    assert 'Paired per-seed difference to independent' in table and 'Paired per-seed difference to DML' in table
    assert '*draw 0 (seeds 0–0)*' in table and '*draw 1 (seeds 1–1)*' in table
    assert '*pooled over the 2 draws*' in table and '(n=2)' in table
    # Quick runs barely train, so some members sit near chance: the count follows results.csv's values.
    mcl_failed = [sum(values[('mcl', seed, f'val/member_{i}/top1')] < 5 for i in range(2)) for seed in '01']
    assert 'Members that never left chance' in table
    assert f'| MCL | {mcl_failed[0]} of 2' in table and f'| {mcl_failed[1]} of 2' in table.split('| MCL |')[-1]
    # The pooled MCL - independent cell is the paired interval over both draws' seeds.
    metric = 'val/member_mean/top1'
    mean, low, high = paired_interval([values[('mcl', s, metric)] for s in '01'],
                                      [values[('independent', s, metric)] for s in '01'])
    pooled = table[table.index('*pooled over the 2 draws*'):]
    assert f'| MCL − independent | {mean:+.2f} [{low:+.2f}, {high:+.2f}] (n=2)' in pooled
    for name in ('results.md', 'results.csv', 'accuracy.png', 'paired_differences.png', 'curves.png'):
        assert (tmp_path / 'docs' / name).stat().st_size > 200, name
    # One draw per session: draw 1 tabulated in this invocation, draw 0 merged from an earlier draw-0-only table,
    # gives the same per-draw and pooled cells (and the same results.csv) as both draws in one invocation.
    earlier = tmp_path / 'earlier'
    earlier.mkdir()
    with open(earlier / 'results.csv', 'w') as f:
        f.write(''.join(line for line in open(out / 'results.csv') if line.split(',')[1] in ('seed', '0')))
    (earlier / 'world_draws.json').write_text(json.dumps({'draw 0': [0]}))
    both_csv = (out / 'results.csv').read_text()
    # As a user runs it: --skip-finished in a copy of the output folder whose runs all finished (nothing trains).
    resumed = tmp_path / 'resumed'
    shutil.copytree(out, resumed)
    before = json.load(open(resumed / 'timing.json'))
    assert before['draws'] == [0, 1]
    study.run_study(
        str(resumed),
        quick=True,
        workdir=str(tmp_path),
        skip_finished=True,
        draws='1',
        merge_results=str(earlier / 'results.csv'))
    timing = json.load(open(resumed / 'timing.json'))
    assert timing['draws'] == [1] and timing['minutes'] < before['minutes']  # its own minutes, not both draws'
    assert (resumed / 'results.csv').read_text() == both_csv
    study.run_study(
        str(out),
        quick=True,
        workdir=str(tmp_path),
        collect_only=True,
        draws='1',
        merge_results=str(earlier / 'results.csv'))
    merged = (out / 'results.md').read_text()
    assert 'Draw(s) 0 come from an earlier invocation' in merged
    for title in ('*draw 0 (seeds 0–0)*', '*draw 1 (seeds 1–1)*', '*pooled over the 2 draws*'):
        assert table[table.index(title):].split('\n\n*')[0] == merged[merged.index(title):].split('\n\n*')[0]
    assert (out / 'results.csv').read_text() == both_csv
    assert json.load(open(out / 'world_draws.json')) == {'draw 0': [0], 'draw 1': [1]}
    from mcl_mm.utils.errors import ToolInputError
    with pytest.raises(ToolInputError, match=r'draw\(s\) \[0\] are also in this run'):
        study.run_study(
            str(out), quick=True, workdir=str(tmp_path), collect_only=True, merge_results=str(earlier / 'results.csv'))
    # Finished runs are not trained again with --skip-finished; --arm-seeds caps an arm's seeds in every draw.
    draws = OrderedDict((d, (r, [d])) for d, r in enumerate(roots))
    arms = OrderedDict((a, study.ARMS[a]) for a in study.DEFAULT_ARMS)
    assert study.plan(arms, draws, 2, str(out), skip_finished=True) == []
    two = OrderedDict((d, (r, [2 * d, 2 * d + 1])) for d, r in enumerate(roots))
    capped = study.plan(study.ARMS, two, 2, str(tmp_path / 'new'), arm_seeds={'lmcl_v2': 1})
    assert {j.tag
            for j in capped if j.tag.startswith('lmcl_v2/')
            } == {'lmcl_v2/s0', 'lmcl_v2/s0/train-eval', 'lmcl_v2/s2', 'lmcl_v2/s2/train-eval'}
    assert len(capped) == 2 * 2 * (2 * len(study.ARMS) - 1)
    assert all(f'data_root={roots[1]}' in j.cmd for j in capped if j.tag.split('/')[1] in ('s2', 's3'))
    # Re-tabulating finished runs trains nothing and gives the same table.
    _, again = run_tool('study.py', '--quick', '--out', out, '--collect-only')
    assert 'start ' not in again and (out / 'results.md').read_text() == table
    # A run stopped between its training and its train-set evaluation keeps its training: only the evaluation runs.
    shutil.rmtree(osp.join(study.run_dir(str(out), 'mcl', 1, 1), 'train_eval'))
    resumed = study.plan(arms, draws, 2, str(out), skip_finished=True)
    assert [(j.tag, j.deps) for j in resumed] == [('mcl/s1/train-eval', [])]
    assert study.plan(arms, draws, 2, str(out))[0].tag == 'independent/s0'  # without the flag everything trains


@pytest.mark.slow
def test_quick_study_runs_the_optional_arms(tmp_path):
    """MCL + logit KD and L-MCL v2 (the --quick meta step with one look-ahead update) through the study."""
    out = tmp_path / 'out'
    _, log = run_tool(
        'study.py',
        '--quick',
        '--arms',
        'mcl_logitkd,lmcl_v2',
        '--world-draws',
        '1',
        '--out',
        out,
        '--workdir',
        tmp_path,
        timeout=900)
    rows = list(csv.DictReader(open(out / 'results.csv')))
    assert {(r['arm'], r['seed']) for r in rows} == {('mcl_logitkd', '0'), ('lmcl_v2', '0')}
    assert 'model.meta.times=1' in (out / 'logs' / 'lmcl_v2_s0.log').read_text()
    assert 'meta_ce_outer' in (out / 'logs' / 'lmcl_v2_s0.log').read_text()  # the meta step ran
    table = (out / 'results.md').read_text()
    assert '| L-MCL v2 |' in table and '| MCL + logit KD |' in table
    assert 'Paired per-seed difference' not in table  # no reference arm was trained: no comparison is made up


def test_bad_arms_seeds_and_missing_runs_are_clear_errors(tmp_path, capsys):
    from mcl_mm.utils.errors import RunRecordError, ToolInputError
    with pytest.raises(ToolInputError, match=r"unknown arm\(s\) \['mcl_v3'\]"):
        study.select_arms('mcl,mcl_v3', ablation=False)
    assert list(study.select_arms(None, ablation=True)) == list(study.DEFAULT_ARMS) + list(study.ABLATIONS)
    with pytest.raises(ToolInputError, match='--arm-seeds takes ARM=N items'):
        study.parse_arm_seeds(['lmcl_v2:3'])
    # --draws names draws the study has; --merge-results needs this tool's table and its world_draws.json.
    draws = study.seeds_of_draws(2, 5)
    assert select_draws(draws, '1') == OrderedDict({1: [5, 6, 7, 8, 9]})
    with pytest.raises(ToolInputError, match=r'no draw \[2\]; this study has draws \[0, 1\]'):
        select_draws(draws, '1,2')
    with pytest.raises(ToolInputError, match='--draws takes draw numbers'):
        select_draws(draws, 'one')
    (tmp_path / 'x.csv').write_text('a,b\n1,2\n')
    with pytest.raises(ToolInputError, match='needs a results.csv written by tools/study.py and the world_draws'):
        study.load_results(str(tmp_path / 'x.csv'))
    (tmp_path / 'world_draws.json').write_text('{"draw 0": [0]}')
    with pytest.raises(ToolInputError, match='not an arm,seed,metric,value table'):
        study.load_results(str(tmp_path / 'x.csv'))
    with pytest.raises(ToolInputError, match=r'seed\(s\) \[3, 4\] are in both; use the --seeds'):
        study.merge_earlier({}, select_draws(study.seeds_of_draws(2, 3), '1'), select_draws(draws, '0'),
                            [])  # draw 1 with 3 seeds: 3-5; draw 0 with 5 seeds: 0-4
    # A run folder with an empty train-set evaluation is not finished; a study with no finished run names it.
    work = study.run_dir(str(tmp_path), 'mcl', 0, 0)
    (tmp_path / 'runs' / 'mcl' / 'w0' / 's0' / 'train_eval').mkdir(parents=True)
    assert not study.run_finished(work)
    with pytest.raises(RunRecordError, match='no test metrics in'):
        study._test_metrics(osp.join(work, 'train_eval'))
    with pytest.raises(RunRecordError, match=r"no finished run for \['mcl'\]"):
        study.collect(OrderedDict(mcl=study.ARMS['mcl']), OrderedDict({0: [0]}), str(tmp_path))
    assert 'mcl draw 0 seed 0: no finished run' in capsys.readouterr().out
    # The generated world is reused when its spec is unchanged.
    mode = dict(study.MODES['quick'])
    study.generate_data(str(tmp_path / 'world'), mode, draw=1)
    study.generate_data(str(tmp_path / 'world'), mode, draw=1)
    assert capsys.readouterr().out.splitlines()[-1] == f'[study] data: reusing {tmp_path / "world"}'
