"""README's main job, --quick: generate -> pretrain MCL and baseline -> extract -> transfer -> table + plots."""
import csv

import pytest

from conftest import run_tool

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
    for png in ('pretrain_curves.png', 'transfer.png'):
        assert (out / png).stat().st_size > 5000
    assert table in log  # printed at the end
