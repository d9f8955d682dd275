"""README's main job, --quick: generate -> pretrain MCL and baseline -> extract -> transfer -> table + plots ->
publish."""
import csv
import json

import pytest
import torch
from helpers import run_tool

from mcl_mm.experiments.demo import DemoRun, check_published
from mcl_mm.utils.errors import RunRecordError
from mcl_mm.utils.logs import last_metrics

pytestmark = pytest.mark.slow


def test_quick_demo_end_to_end(tmp_path):
    out = tmp_path / 'out'
    _, log = run_tool('demo.py', '--quick', '--out', out, '--workdir', tmp_path, timeout=900)
    assert '[demo] data: generated' in log
    assert 'eta' in log.lower() and 'ETA' in log  # the runs' progress and the overall ETA are shown
    table = (out / 'results.md').read_text()
    header = table.splitlines()[0]
    for column in ('member 0 top-1', 'member 1 top-1', 'ensemble top-1', 'box AP', 'mask AP', 'VOC mAP', 'mIoU'):
        assert column in header
    rows = {r[0]: r for r in csv.reader(open(out / 'results.csv'))}
    for arm in ('MCL x2 (member 0)', 'independent x2 (member 0)'):
        assert all(cell != '' for cell in rows[arm][1::3]), arm  # every metric has a value for both pretrainings
    random_row = rows['random init']
    assert all(random_row[i] != '' for i in range(10, len(random_row), 3))  # every transfer metric
    # Paired per-seed differences (one seed in --quick: the mean difference, no interval).
    for pair in ('MCL − independent', 'MCL − random init', 'independent − random init'):
        assert f'| {pair} |' in table, pair
    runs = list(csv.reader(open(out / 'runs.csv')))
    assert runs[0] == ['arm', 'seed', 'metric', 'value']
    assert {(r[0], r[2]) for r in runs[1:]} >= {('mcl', 'member_0/top1'), ('baseline', 'mIoU'), ('random', 'mIoU')}
    for png in ('pretrain_curves.png', 'transfer.png', 'paired_differences.png'):
        assert (out / png).stat().st_size > 5000
    assert table in log  # printed at the end
    # The host is named: results differ between CPU kinds.
    assert f'CPU cores, torch {torch.__version__}' in table.splitlines()[-1]
    # The user's path ends with a published model that mmpretrain loads and that scores what training logged.
    published = sorted(p.name for p in (out / 'published').iterdir() if not p.name.startswith('.'))  # not the stamp
    assert len(published) == 3 and {p.rsplit('.', 1)[1] for p in published} == {'pth', 'py', 'json'}, published
    meta = json.load(open(out / 'published' / next(p for p in published if p.endswith('.json'))))
    assert meta['member'] == 0 and meta['keys'] == 'backbone.* + head.*'
    logged = last_metrics(str(out / 'pretrain' / 'mcl' / 's0'), ['cohort/member_0/top1'])['cohort/member_0/top1']
    assert meta['val_accuracy']['member_top1'] == logged
    weights = next(p for p in published if p.endswith('.pth'))
    assert f'`published/{weights}`' in table and f'top-1 {logged:.2f} on the 100 held-out images' in table
    # The check compares for real: a record that disagrees with the published weights fails the demo.
    sidecar = out / 'published' / next(p for p in published if p.endswith('.json'))
    meta['val_accuracy']['member_top1'] = logged + 1.0
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(RunRecordError, match='not the trained member'):
        check_published(DemoRun(out=str(out), seeds=1), str(tmp_path / 'data' / 'demo'))


def test_quick_selfsup_demo_end_to_end(tmp_path):
    """--selfsup: MoCo-MCL x2 and MoCo x2 without labels -> member 0 -> linear probe and VOC detection."""
    out = tmp_path / 'out'
    _, log = run_tool('demo.py', '--selfsup', '--quick', '--out', out, '--workdir', tmp_path, timeout=900)
    for job in ('pretrain/moco_mcl/s0', 'pretrain/moco/s0', 'probe/random/s0', 'transfer/voc_det/moco_mcl/s0'):
        assert f'[demo] done {job}' in log, job
    assert 'loss_icl' in (out / 'logs' / 'pretrain_moco_mcl_s0.log').read_text()  # the MCL terms are on
    assert 'loss_icl' not in (out / 'logs' / 'pretrain_moco_s0.log').read_text()  # the baseline: MoCo alone
    rows = {r[0]: r for r in csv.reader(open(out / 'results.csv'))}
    assert rows['pretraining (no labels)'][1:] == [
        'linear-probe top-1 mean', 'linear-probe top-1 std', 'linear-probe top-1 n', 'VOC mAP mean', 'VOC mAP std',
        'VOC mAP n'
    ]
    for arm in ('MoCo v2 + MCL x2 (member 0)', 'MoCo v2 x2 (member 0)', 'random init'):
        assert rows[arm][3] == '1' and rows[arm][6] == '1', rows[arm]  # one value of each metric per arm
    for png in ('pretrain_curves.png', 'selfsup.png'):
        assert (out / png).stat().st_size > 5000
