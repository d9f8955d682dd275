"""The transfer results collector: table values, mean ± std over seeds, CSV, chart."""
import csv
import json

from conftest import run_tool


def _work_dir(root, name, records):
    path = root / name / '20260101_000000' / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
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
    assert '| mcl | 32.00 ± 2.83 | 16.00 ± 1.41 | – | 42.00 ± 2.83 |' in table  # the latest value of each run
    assert '| baseline | 20.00 | 10.00 | 50.00 | – |' in table
    rows = list(csv.reader(open(tmp_path / 'res' / 'transfer.csv')))
    assert rows[1][:4] == ['mcl', '32.0000', '2.8284', '2']
    assert (tmp_path / 'res' / 'transfer.png').stat().st_size > 1000


def test_collect_transfer_rejects_unevaluated_runs(tmp_path):
    empty = _work_dir(tmp_path, 'nothing', [{'loss': 1.0, 'step': 1}])
    code, out = run_tool('analysis/collect_transfer.py', '--run', f'x={empty}', '--out', tmp_path / 'r',
                         expect_ok=False)
    assert code != 0 and 'is it a finished (evaluated) run?' in out
