"""The transfer results collector: table values, mean ± std over seeds, CSV, chart."""
import csv
import json

import pytest
from helpers import run_tool


def _work_dir(root, name, records, max_epochs=None):
    """A work dir as tools/train.py leaves it: the config dump (its planned length) and the scalars."""
    path = root / name / '20260101_000000' / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    last = max_epochs or max(r['step'] for r in records)
    (root / name / f'{name}.py').write_text(f"train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={last})\n")
    return root / name


def test_collect_transfer_table_and_chart(tmp_path):
    runs = []
    for seed, (box, miou) in enumerate([(0.30, 40.0), (0.34, 44.0)]):
        det = _work_dir(tmp_path, f'det_mcl_{seed}', [{
            'loss': 1.0,
            'step': 1
        }, {
            'coco/bbox_mAP': 0.1,
            'step': 1
        }, {
            'coco/bbox_mAP': box,
            'coco/segm_mAP': box / 2,
            'step': 2
        }])
        seg = _work_dir(tmp_path, f'seg_mcl_{seed}', [{'mIoU': miou, 'aAcc': 90.0, 'step': 2}])
        runs += ['--run', f'mcl={det}', '--run', f'mcl={seg}']
    base = _work_dir(tmp_path, 'det_base', [{'coco/bbox_mAP': 0.2, 'coco/segm_mAP': 0.1, 'step': 2}])
    voc = _work_dir(tmp_path, 'voc_base', [{'pascal_voc/mAP': 0.5, 'step': 1}])
    runs += ['--run', f'baseline={base}', '--run', f'baseline={voc}']
    _, out = run_tool('analysis_tools/collect_transfer.py', *runs, '--out', tmp_path / 'res')
    table = (tmp_path / 'res' / 'transfer.md').read_text()
    assert '| initialisation | box AP | mask AP | VOC mAP | mIoU |' in table
    assert '| mcl | 32.00 ± 2.83 (n=2) | 16.00 ± 1.41 (n=2) | – | 42.00 ± 2.83 (n=2) |' in table  # latest values
    assert '| baseline | 20.00 (n=1) | 10.00 (n=1) | 50.00 (n=1) | – |' in table
    rows = list(csv.reader(open(tmp_path / 'res' / 'transfer.csv')))
    assert rows[1][:4] == ['mcl', '32.0000', '2.8284', '2']
    assert (tmp_path / 'res' / 'transfer.png').stat().st_size > 1000


def test_collect_transfer_rejects_unevaluated_runs(tmp_path):
    empty = _work_dir(tmp_path, 'nothing', [{'loss': 1.0, 'step': 1}])
    code, out = run_tool(
        'analysis_tools/collect_transfer.py', '--run', f'x={empty}', '--out', tmp_path / 'r', expect_ok=False)
    assert code != 0 and 'Traceback' not in out and 'no run to tabulate' in out and 'stopped before' in out


def test_collect_pretrain_reports_members_stages_and_aggregate(tmp_path):
    runs = []
    for seed, top1 in enumerate([80.0, 84.0]):
        record = {
            'cohort/member_0/top1': top1,
            'cohort/member_1/top1': top1 - 1,
            'cohort/ensemble/top1': top1 + 1,
            'cohort/member_0/s1/top1': 70.0,
            'cohort/member_0/aggregate/top1': top1 + 2,
            'step': 3
        }
        runs += ['--run', f'lmcl-v2={_work_dir(tmp_path, f"l{seed}", [{"loss": 1.0, "step": 1}, record])}']
    mcl = _work_dir(tmp_path, 'mcl', [{
        'cohort/member_0/top1': 81.0,
        'cohort/member_1/top1': 79.0,
        'cohort/ensemble/top1': 82.0,
        'step': 3
    }])
    _, out = run_tool('analysis_tools/collect_pretrain.py', *runs, '--run', f'mcl={mcl}', '--out', tmp_path / 'p')
    table = (tmp_path / 'p' / 'pretrain.md').read_text()
    assert table.splitlines()[0] == ('| pretraining | member 0 top-1 | member 1 top-1 | ensemble top-1 | '
                                     'member 0 s1 top-1 | member 0 aggregate top-1 |')
    assert ('| lmcl-v2 | 82.00 ± 2.83 (n=2) | 81.00 ± 2.83 (n=2) | 83.00 ± 2.83 (n=2) | 70.00 ± 0.00 (n=2) | '
            '84.00 ± 2.83 (n=2) |') in table
    assert '| mcl | 81.00 (n=1) | 79.00 (n=1) | 82.00 (n=1) | – | – |' in table
    assert (tmp_path / 'p' / 'pretrain.png').stat().st_size > 1000


TEXT_LOG = """\
11/28 02:50:05 - mmengine - INFO - Epoch(train)  [1][20/39]  lr: 5.0000e-02  eta: 0:04:55  time: 0.2884  data_time: 0.0064  loss: 7.7249  loss_ce_m0: 4.5431  loss_ce_m1: 3.1818
11/28 02:50:11 - mmengine - INFO - Epoch(val) [1][6/6]    cohort/ensemble/top1: 2.8667  cohort/member_0/top1: 1.4667  cohort/member_1/top1: 2.6000  data_time: 0.0156  time: 0.3795
11/28 02:50:17 - mmengine - INFO - Epoch(train)  [2][39/39]  lr: 4.6651e-02  eta: 0:00:01  time: 0.2884  data_time: 0.0064  loss: 3.5  loss_ce_m0: 1.5  loss_ce_m1: 2.0
11/28 02:50:19 - mmengine - INFO - Saving checkpoint at 2 epochs
11/28 02:50:21 - mmengine - INFO - Epoch(val) [2][6/6]    cohort/ensemble/top1: 40.5  cohort/member_0/top1: 35.25  cohort/member_1/top1: 38.0  data_time: 0.0156  time: 0.3795
"""


def _text_log_run(root, name='tb_only'):
    """A work dir whose run logged to TensorBoard only: the text log and an event file, no scalars.json."""
    run = root / name / '20261128_024907'
    (run / 'vis_data').mkdir(parents=True)
    (run / 'vis_data' / 'events.out.tfevents.1764298147.host').write_bytes(b'\x00')
    (run / '20261128_024907.log').write_text(TEXT_LOG)
    (root / name / f'{name}.py').write_text("train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)\n")
    return root / name


def test_records_come_from_the_text_log_when_the_run_has_no_scalars_json(tmp_path):
    from mcl_mm.utils.logs import scalar_records
    records = scalar_records(str(_text_log_run(tmp_path)))
    assert [r['step'] for r in records] == [20, 1, 78, 2]  # train: (epoch - 1) * 39 + i; val: the epoch
    assert records[0]['lr'] == 0.05 and records[0]['loss_ce_m1'] == 3.1818 and 'eta' not in records[0]
    assert records[3] == {
        'cohort/ensemble/top1': 40.5,
        'cohort/member_0/top1': 35.25,
        'cohort/member_1/top1': 38.0,
        'data_time': 0.0156,
        'time': 0.3795,
        'step': 2
    }
    # The collectors read such a run like any other.
    _, out = run_tool('analysis_tools/collect_pretrain.py', '--run', f'mcl={tmp_path / "tb_only"}', '--out',
                      tmp_path / 'r')
    assert '| mcl | 35.25 (n=1) | 38.00 (n=1) | 40.50 (n=1) |' in (tmp_path / 'r' / 'pretrain.md').read_text()


def test_a_run_without_any_readable_log_is_named(tmp_path):
    from mcl_mm.utils.errors import RunRecordError
    from mcl_mm.utils.logs import scalar_records
    run = tmp_path / 'w' / '20261128_024907' / 'vis_data'
    run.mkdir(parents=True)
    (run / 'events.out.tfevents.1764298147.host').write_bytes(b'\x00')
    with pytest.raises(RunRecordError, match='no vis_data/scalars.json.*events.out.tfevents'):
        scalar_records(str(tmp_path / 'w'))


def test_plot_curves_draws_every_member_and_loss_term(tmp_path):
    scalars = _work_dir(tmp_path, 'local', [{
        'loss': 2.0,
        'loss_ce_m0': 1.0,
        'loss_vcl': 0.5,
        'step': 10
    }, {
        'loss': 1.0,
        'loss_ce_m0': 0.5,
        'loss_vcl': 0.2,
        'step': 20
    }, {
        'cohort/member_0/top1': 50.0,
        'cohort/ensemble/top1': 55.0,
        'step': 1
    }, {
        'cohort/member_0/top1': 60.0,
        'cohort/ensemble/top1': 66.0,
        'step': 2
    }])
    text = _text_log_run(tmp_path)
    _, out = run_tool('analysis_tools/plot_curves.py', scalars, text, '--label', 'scalars', 'text', '--out',
                      tmp_path / 'c.png')
    assert 'wrote' in out and (tmp_path / 'c.png').stat().st_size > 10000
    from mcl_mm.experiments.report import curve_figure
    loss_ax, val_ax = curve_figure({'a': str(scalars), 'b': str(text)}).axes
    loss_labels = {line.get_label() for line in loss_ax.lines}
    val_labels = {line.get_label() for line in val_ax.lines}
    assert loss_labels == {'a: loss', 'a: loss_ce_m0', 'a: loss_vcl', 'b: loss', 'b: loss_ce_m0', 'b: loss_ce_m1'}
    assert val_labels == {
        'a: member_0/top1', 'a: ensemble/top1', 'b: member_0/top1', 'b: member_1/top1', 'b: ensemble/top1'
    }
    code, out = run_tool('analysis_tools/plot_curves.py', tmp_path / 'missing', expect_ok=False)
    assert code != 0 and out.strip().splitlines()[-1].startswith('plot_curves: ') and 'not a folder' in out


def test_the_planned_length_comes_from_the_runs_own_config_dump(tmp_path):
    """The dump lies in the work dir or, when the user keeps a config of that name there, in the run's
    <timestamp>/ folder; a nested run's dump (tools/test.py --work-dir <run>/train_eval) is not the plan."""
    import os
    import time

    from mcl_mm.utils.logs import planned_length
    (tmp_path / 'cfg.py').write_text("_base_ = 'mine.py'\n")  # the user's own config: not data, skipped
    (tmp_path / '20261203_101010').mkdir()
    (tmp_path / '20261203_101010' / 'cfg.py').write_text('# dump\ntrain_cfg = dict(max_epochs=2)\n')
    time.sleep(0.01)
    (tmp_path / 'train_eval').mkdir()
    (tmp_path / 'train_eval' / 'cfg.py').write_text('train_cfg = dict(max_epochs=30)\n')
    os.utime(tmp_path / 'train_eval' / 'cfg.py')
    assert planned_length(str(tmp_path)) == ('epoch', 2)
