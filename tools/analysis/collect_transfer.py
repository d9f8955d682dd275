"""Collect a transfer sweep into one table (markdown + CSV) and a bar chart.

    python tools/analysis/collect_transfer.py --run mcl=work_dirs/det_mcl --run mcl=work_dirs/seg_mcl \
        --run baseline=work_dirs/det_base ... --out results/transfer

Each --run is LABEL=WORK_DIR (an mmdet / mmseg work dir written by tools/train.py). Runs sharing a label
fill one row (e.g. detection and segmentation of the same initialisation); several runs of the same label
and metric (seeds) are shown as mean ± std. Metrics: COCO box / mask AP, VOC mAP, mIoU.
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mcl_mm.utils.results import TRANSFER_METRICS, bar_chart, last_metrics, write_table  # noqa: E402


def collect(runs, out_dir):
    rows = OrderedDict()
    for spec in runs:
        if '=' not in spec:
            raise SystemExit(f'collect_transfer: --run takes LABEL=WORK_DIR, got {spec!r}')
        label, work_dir = spec.split('=', 1)
        metrics = last_metrics(work_dir, list(TRANSFER_METRICS))
        row = rows.setdefault(label, {})
        for key, value in metrics.items():
            # mmdet reports AP in [0, 1], mmseg mIoU in percent: show everything in percent.
            row.setdefault(key, []).append(value * 100 if key.startswith(('coco/', 'pascal_voc/')) else value)
    markdown = write_table(rows, TRANSFER_METRICS, out_dir, 'transfer')
    chart = bar_chart(rows, TRANSFER_METRICS, osp.join(out_dir, 'transfer.png'), 'Transfer by initialisation')
    return markdown, chart


def main(argv=None):
    parser = argparse.ArgumentParser(description='Tabulate a transfer sweep')
    parser.add_argument('--run', action='append', required=True, help='LABEL=WORK_DIR (repeatable)')
    parser.add_argument('--out', required=True, help='output folder for transfer.md / .csv / .png')
    args = parser.parse_args(argv)
    try:
        markdown, chart = collect(args.run, args.out)
    except FileNotFoundError as err:
        raise SystemExit(f'collect_transfer: {err}')
    print(markdown)
    print(f'written: {args.out}/transfer.md, transfer.csv' + (f', {chart}' if chart else ''))


if __name__ == '__main__':
    main()
