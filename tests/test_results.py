"""The transfer results collector: table values, mean ± std over seeds, CSV, chart."""
import csv
import json

from conftest import run_tool


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
        det = _work_dir(tmp_path, f'det_mcl_{seed}', [{'loss': 1.0, 'step': 1}, {'coco/bbox_mAP': 0.1, 'step': 1},
                                                    {'coco/bbox_mAP': box, 'coco/segm_mAP': box / 2, 'step': 2}])
        seg = _work_dir(tmp_path, f'seg_mcl_{seed}', [{'mIoU': miou, 'aAcc': 90.0, 'step': 2}])
        runs += ['--run', f'mcl={det}', '--run', f'mcl={seg}']
    base = _work_dir(tmp_path, 'det_base', [{'coco/bbox_mAP': 0.2, 'coco/segm_mAP': 0.1, 'step': 2}])
    voc = _work_dir(tmp_path, 'voc_base', [{'pascal_voc/mAP': 0.5, 'step': 1}])
    runs += ['--run', f'baseline={base}', '--run', f'baseline={voc}']
    _, out = run_tool('analysis/collect_transfer.py', *runs, '--out', tmp_path / 'res')
    table = (tmp_path / 'res' / 'transfer.md').read_text()
    assert '| initialisation | box AP | mask AP | VOC mAP | mIoU |' in table
    assert '| mcl | 32.00 ± 2.83 (n=2) | 16.00 ± 1.41 (n=2) | – | 42.00 ± 2.83 (n=2) |' in table  # latest values
    assert '| baseline | 20.00 (n=1) | 10.00 (n=1) | 50.00 (n=1) | – |' in table
    rows = list(csv.reader(open(tmp_path / 'res' / 'transfer.csv')))
    assert rows[1][:4] == ['mcl', '32.0000', '2.8284', '2']
    assert (tmp_path / 'res' / 'transfer.png').stat().st_size > 1000


def test_collect_transfer_rejects_unevaluated_runs(tmp_path):
    empty = _work_dir(tmp_path, 'nothing', [{'loss': 1.0, 'step': 1}])
    code, out = run_tool('analysis/collect_transfer.py', '--run', f'x={empty}', '--out', tmp_path / 'r',
                         expect_ok=False)
    assert code != 0 and 'Traceback' not in out and 'no run to tabulate' in out and 'stopped before' in out


def test_collect_pretrain_reports_members_stages_and_aggregate(tmp_path):
    runs = []
    for seed, top1 in enumerate([80.0, 84.0]):
        record = {'cohort/member_0/top1': top1, 'cohort/member_1/top1': top1 - 1, 'cohort/ensemble/top1': top1 + 1,
                  'cohort/member_0/s1/top1': 70.0, 'cohort/member_0/aggregate/top1': top1 + 2, 'step': 3}
        runs += ['--run', f'lmcl-v2={_work_dir(tmp_path, f"l{seed}", [{"loss": 1.0, "step": 1}, record])}']
    mcl = _work_dir(tmp_path, 'mcl', [{'cohort/member_0/top1': 81.0, 'cohort/member_1/top1': 79.0,
                                       'cohort/ensemble/top1': 82.0, 'step': 3}])
    _, out = run_tool('analysis/collect_pretrain.py', *runs, '--run', f'mcl={mcl}', '--out', tmp_path / 'p')
    table = (tmp_path / 'p' / 'pretrain.md').read_text()
    assert table.splitlines()[0] == ('| pretraining | member 0 top-1 | member 1 top-1 | ensemble top-1 | '
                                     'member 0 s1 top-1 | member 0 aggregate top-1 |')
    assert ('| lmcl-v2 | 82.00 ± 2.83 (n=2) | 81.00 ± 2.83 (n=2) | 83.00 ± 2.83 (n=2) | 70.00 ± 0.00 (n=2) | '
            '84.00 ± 2.83 (n=2) |') in table
    assert '| mcl | 81.00 (n=1) | 79.00 (n=1) | 82.00 (n=1) | – | – |' in table
    assert (tmp_path / 'p' / 'pretrain.png').stat().st_size > 1000
