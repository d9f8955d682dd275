"""The transfer study (tools/study.py --transfer): its plan, its statistics, and a --quick run end to end."""
import csv
import math
import re
from collections import OrderedDict

import pytest
import torch
from helpers import run_tool

from mcl_mm.experiments import transfer_study as ts
from mcl_mm.experiments.report import t_quantile_975
from mcl_mm.utils.errors import RunRecordError, ToolInputError


def _options(job):
    return job.cmd[job.cmd.index('--cfg-options') + 1:]


def _config(job):
    return job.cmd[2]


def test_the_plan_pairs_every_initialisation_and_changes_only_what_it_compares(tmp_path):
    mode = ts.MODES['full']
    # Two draws of the world, one seed each: every job of a draw reads that draw's data.
    draws = OrderedDict([(1, (str(tmp_path / 'data_w1'), [0])), (2, (str(tmp_path / 'data_w2'), [1]))])
    jobs = ts.plan(mode, draws, 2, ts.DEFAULT_TASKS, str(tmp_path / 'out'))
    by_tag = {j.tag: j for j in jobs}
    assert len(jobs) == 2 * len(ts.ARMS) * 2 + 2 * 2 * len(ts.DEFAULT_TASKS) * len(ts.INITS)
    # Pretraining: the arms differ in their config alone (which differs in its objective alone).
    for seed in (0, 1):
        options = {arm: _options(by_tag[f'pretrain/{arm}/s{seed}']) for arm in ts.ARMS}
        assert len({tuple(o) for o in options.values()}) == 1 and f'randomness.seed={seed}' in options['mcl']
    # Fine-tunes: per task, seed and repeat the same options for every initialisation but the backbone's.
    for task in ts.DEFAULT_TASKS:
        for seed in (0, 1):
            for repeat in (0, 1):
                tags = {init: f'finetune/{task}/{init}/s{seed}/r{repeat}' for init in ts.INITS}
                common = {
                    init: [o for o in _options(by_tag[t]) if not o.startswith('model.backbone.init_cfg')]
                    for init, t in tags.items()
                }
                assert len({tuple(c) for c in common.values()}) == 1, task
                assert f'randomness.seed={seed + 1000 * repeat}' in common['mcl']
                assert ('model.backbone.frozen_stages=4' in common['mcl']) == task.endswith('_frozen')
                assert 'model.backbone.init_cfg=None' in _options(by_tag[tags['random']])
                assert by_tag[tags['random']].deps == []
                for arm in ts.ARMS:
                    job = by_tag[tags[arm]]
                    assert f'model.backbone.init_cfg.checkpoint={ts.backbone_path(str(tmp_path / "out"), arm, seed)}' \
                        in _options(job) and job.deps == [f'extract/{arm}/s{seed}']
                assert len({_config(by_tag[t]) for t in tags.values()}) == 1
    # Nothing finished yet: --skip-finished plans the same jobs.
    again = ts.plan(mode, draws, 2, ts.DEFAULT_TASKS, str(tmp_path / 'out'), True)
    assert [j.tag for j in again] == [j.tag for j in jobs]
    for job in jobs:
        seed = int(re.search(r'/s(\d+)', job.tag).group(1))
        roots = {d for d, (root, _) in draws.items() if any(root + '/' in o for o in job.cmd)}
        assert roots == ({1} if seed == 0 else {2}) or job.tag.startswith('extract/'), job.tag
    # Draw d pretrains with seeds (d - 1) * n ... d * n - 1: no seed in two draws, draw 0 (superseded) unused.
    assert ts.seeds_of_draws(2, 5) == OrderedDict([(1, [0, 1, 2, 3, 4]), (2, [5, 6, 7, 8, 9])])


def test_variance_split_and_projected_half_width_against_hand_computation():
    # Two seeds x three fine-tunes per member, for MCL and independent.
    mcl = {0: [50.0, 52.0, 51.0], 1: [55.0, 53.0, 54.0], 2: [49.0, 50.0, 51.5]}
    ind = {0: [48.0, 49.0, 47.0], 1: [50.0, 52.0, 51.0], 2: [49.5, 48.5, 50.0]}
    per_repeat = {'mcl': {'voc_det': mcl}, 'independent': {'voc_det': ind}}
    split = ts.variance_split(per_repeat, 'mcl', 'independent', 'voc_det')

    def var(xs):
        m = sum(xs) / len(xs)
        return sum((x - m)**2 for x in xs) / (len(xs) - 1)

    within = [var(v) for side in (mcl, ind) for v in side.values()]
    s2_ft = sum(within) / len(within)
    diffs = [sum(mcl[s]) / 3 - sum(ind[s]) / 3 for s in (0, 1, 2)]
    s2_seed = max(0.0, var(diffs) - 2 * s2_ft / 3)
    assert split['sd_finetune'] == pytest.approx(math.sqrt(s2_ft))
    assert split['sd_seed'] == pytest.approx(math.sqrt(s2_seed))
    assert split['sd_difference'] == pytest.approx(math.sqrt(var(diffs)))
    assert (split['n'], split['R']) == (3, 3)
    # 10 seeds, 2 repeats: t(0.975, 9) = 2.2622 (from a table)
    expected = 2.2622 * math.sqrt((s2_seed + 2 * s2_ft / 2) / 10)
    assert ts.projected_half_width(split, 10, 2) == pytest.approx(expected, rel=1e-4)
    assert t_quantile_975(9) == pytest.approx(2.2622, abs=1e-4)
    # One fine-tune per member gives no fine-tune variance: no split is made up.
    single = {'mcl': {'voc_det': {0: [1.0], 1: [2.0]}}, 'independent': {'voc_det': {0: [0.5], 1: [1.0]}}}
    assert ts.variance_split(single, 'mcl', 'independent', 'voc_det') is None


def test_bad_study_options_end_in_one_line():
    code, out = run_tool('study.py', '--transfer', '--arms', 'mcl', expect_ok=False)
    assert code == 2 and '--arms: not options of --transfer' in out and 'Traceback' not in out
    code, out = run_tool('study.py', '--repeats', '2', expect_ok=False)
    assert code == 2 and '--repeats: options of --transfer only' in out
    code, out = run_tool('study.py', '--transfer', '--tasks', 'voc_det,coco', expect_ok=False)
    assert code != 0 and "unknown task(s) ['coco']" in out and 'Traceback' not in out


@pytest.mark.slow
def test_quick_transfer_study_end_to_end(tmp_path):
    """The frozen-backbone segmentation and the linear probe from every initialisation (the other tasks are the
    same jobs with other configs, checked by the plan test above and by the demo)."""
    out = tmp_path / 'out'
    _, log = run_tool(
        'study.py',
        '--transfer',
        '--quick',
        '--tasks',
        'voc_seg_frozen,probe',
        '--out',
        out,
        '--workdir',
        tmp_path,
        '--docs',
        tmp_path / 'docs',
        timeout=900)
    assert 'ETA' in log and '[demo] data: generated' in log
    rows = list(csv.DictReader(open(out / 'results.csv')))
    assert list(rows[0]) == ['arm', 'draw', 'seed', 'metric', 'value'] and {r['draw'] for r in rows} == {'1'}
    cells = {(r['arm'], r['metric']) for r in rows}
    for arm in ts.ARMS:
        assert {(arm, m) for m in ts.PRETRAIN_METRICS} <= cells
    for init in ts.INITS:
        assert {(init, 'voc_seg_frozen'), (init, 'probe')} <= cells
    values = {(r['arm'], r['metric']): float(r['value']) for r in rows}
    assert all(0 <= v <= 100 for v in values.values())
    # A frozen backbone is frozen: after fine-tuning, every backbone tensor (batch-norm statistics included) is
    # the extracted member's.
    member = torch.load(ts.backbone_path(str(out), 'mcl', 0), map_location='cpu', weights_only=True)['state_dict']
    final = torch.load(
        sorted((out / 'finetune' / 'voc_seg_frozen' / 'mcl' / 's0' / 'r0').glob('iter_*.pth'))[-1],
        map_location='cpu',
        weights_only=False)['state_dict']
    backbone = {k[len('backbone.'):]: v for k, v in final.items() if k.startswith('backbone.')}
    assert set(backbone) == set(member)
    assert all(torch.equal(backbone[k], member[k]) for k in member if not k.endswith('num_batches_tracked'))
    table = (out / 'results.md').read_text()
    assert '## Pretraining: the classification effect in this regime' in table
    assert '| MCL − independent |' in table and '| MCL − DML |' in table and '| MCL − random init |' in table
    # The table's MCL - independent probe cell is the mean per-seed difference (one seed: the difference).
    probe = values[('mcl', 'probe')] - values[('independent', 'probe')]
    transfer = table[table.index('## Transfer from member 0'):]
    assert re.search(rf'\| MCL − independent \| [^|]+ \| {re.escape(f"{probe:+.2f}")} ', transfer), transfer
    for name in ('results.md', 'results.csv', 'repeats.csv', 'paired_differences.png', 'values.png'):
        assert (tmp_path / 'docs' / name).stat().st_size > 100, name
    assert list(csv.reader(open(out / 'repeats.csv')))[0] == ['arm', 'draw', 'seed', 'repeat', 'metric', 'value']
    # Resumable: nothing is planned again; re-tabulating gives the same table.
    draws = {1: (str(tmp_path / 'data' / 'study_transfer_quick_w1'), [0])}
    assert ts.plan(ts.MODES['quick'], draws, 1, ['voc_seg_frozen', 'probe'], str(out), True) == []
    # A member whose extraction is missing is extracted again (its finished pretraining kept, so no dependency on
    # it), and the fine-tunes from it run again.
    (out / 'backbones' / 'mcl_s0' / 'member0.pth').unlink()
    again = {j.tag: j for j in ts.plan(ts.MODES['quick'], draws, 1, ['voc_seg_frozen', 'probe'], str(out), True)}
    assert set(again) == {'extract/mcl/s0', 'finetune/voc_seg_frozen/mcl/s0/r0', 'finetune/probe/mcl/s0/r0'}
    assert again['extract/mcl/s0'].deps == [] and again['finetune/probe/mcl/s0/r0'].deps == ['extract/mcl/s0']
    _, again = run_tool('study.py', '--transfer', '--quick', '--tasks', 'voc_seg_frozen,probe', '--out', out,
                        '--collect-only')
    assert 'start ' not in again and (out / 'results.md').read_text() == table


def test_report_from_synthetic_runs_has_the_variance_split_and_projected_half_widths(tmp_path):
    """markdown() on made-up values (3 seeds, 2 fine-tunes): the power table holds variance_split's SDs and the
    half-widths of projected_half_width, and a folder without finished runs is an error naming it."""
    seeds, tasks = [0, 1, 2, 3], ['voc_det', 'probe']
    draws = OrderedDict([(1, [0, 1]), (2, [2, 3])])
    per_repeat = OrderedDict((init, OrderedDict()) for init in ts.INITS)
    per_seed = OrderedDict((init, OrderedDict()) for init in ts.INITS)
    for k, init in enumerate(ts.INITS):
        for metric in ts.PRETRAIN_METRICS:
            if init != 'random':
                per_seed[init][metric] = OrderedDict((s, 90.0 + k + 0.5 * s) for s in seeds)
        for j, task in enumerate(tasks):
            per_repeat[init][task] = OrderedDict((s, [30.0 + k + s + j, 31.5 + k + 0.3 * s]) for s in seeds)
            per_seed[init][task] = OrderedDict((s, sum(v) / 2) for s, v in per_repeat[init][task].items())
    text = ts.markdown(per_seed, per_repeat, draws, 2, tasks, ts.MODES['full'], 12.0, 'full')
    assert '## Where the variance comes from (MCL − independent)' in text
    split = ts.variance_split(per_repeat, 'mcl', 'independent', 'voc_det')
    row = next(line for line in text.splitlines() if line.startswith('| VOC mAP | '))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[1:4] == [
        f'{split["sd_finetune"]:.2f}', f'{split["sd_seed"]:.2f}', f'{split["sd_difference"]:.2f} (4, 2)'
    ]
    assert cells[4] == f'{ts.projected_half_width(split, 5, 2):.2f}'
    assert '| MCL − DML |' in text and 'pretraining seeds draw 1: 0, 1; draw 2: 2, 3' in text
    # Per draw: the paired differences of that draw's seeds alone.
    assert '## Per draw' in text and '### Draw 2 (seeds 2–3)' in text
    draw_2 = text[text.index('### Draw 2'):]
    probe = [per_seed['mcl']['probe'][s] - per_seed['independent']['probe'][s] for s in (2, 3)]
    assert f'{sum(probe) / 2:+.2f} [' in draw_2.split('\n| MCL − DML')[0]
    with pytest.raises(RunRecordError, match='no finished run in'):
        ts.collect(draws, 2, tasks, str(tmp_path / 'empty'))


def test_draws_of_two_invocations_pool(tmp_path):
    """--merge-results: the draws an earlier invocation wrote (results.csv with its draw column, repeats.csv) join
    this invocation's tables; a draw or seed in both, or a table without draws, is refused in one line."""

    def tables(seeds, offset):
        per_seed = OrderedDict((init, OrderedDict()) for init in ts.INITS)
        per_repeat = OrderedDict((init, OrderedDict()) for init in ts.INITS)
        for k, init in enumerate(ts.INITS):
            per_repeat[init]['voc_seg'] = OrderedDict((s, [offset + k + s, offset + k + s + 1.0]) for s in seeds)
            per_seed[init]['voc_seg'] = OrderedDict((s, offset + k + s + 0.5) for s in seeds)
        return per_seed, per_repeat

    first = tmp_path / 'first'
    first.mkdir()
    ts.write_results(*tables([0, 1], 10.0), OrderedDict([(1, [0, 1])]), str(first))
    earlier = ts.load_earlier(str(first / 'results.csv'))
    assert earlier[0] == OrderedDict([(1, [0, 1])])
    per_seed, per_repeat = tables([2, 3], 20.0)
    draws = ts.merge_earlier(per_seed, per_repeat, OrderedDict([(2, [2, 3])]), earlier)
    assert draws == OrderedDict([(1, [0, 1]), (2, [2, 3])])
    assert per_seed['mcl']['voc_seg'] == OrderedDict([(0, 12.5), (1, 13.5), (2, 24.5), (3, 25.5)])
    assert per_repeat['random']['voc_seg'][1] == [14.0, 15.0]
    with pytest.raises(ToolInputError, match=r'draw\(s\) \[1\] are also in this run'):
        ts.merge_earlier(*tables([0, 1], 0.0), OrderedDict([(1, [0, 1])]), earlier)
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'results.csv').write_text('arm,seed,metric,value\nmcl,0,voc_seg,1.0\n')
    (tmp_path / 'old' / 'repeats.csv').write_text('arm,seed,repeat,metric,value\n')
    with pytest.raises(ToolInputError, match='written before world draws, cannot be pooled'):
        ts.load_earlier(str(tmp_path / 'old' / 'results.csv'))
    with pytest.raises(ToolInputError, match='needs a results.csv written by tools/study.py --transfer'):
        ts.load_earlier(str(tmp_path / 'missing.csv'))
