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

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mcl_mm.utils.results import TRANSFER_METRICS, collect_runs  # noqa: E402


def collect(runs, out_dir):
    # mmdet reports AP in [0, 1], mmseg mIoU in percent: show everything in percent.
    return collect_runs(runs, TRANSFER_METRICS, out_dir, 'transfer', 'Transfer by initialisation', 'initialisation',
                        to_percent=lambda key: key.startswith(('coco/', 'pascal_voc/')))


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
