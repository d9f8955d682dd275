"""Collect pretraining runs (MCL, L-MCL, independent baselines) into one table (markdown + CSV) and a chart.

    python tools/analysis/collect_pretrain.py --run mcl=work_dirs/mcl/s0 --run mcl=work_dirs/mcl/s1 \
        --run lmcl-v2=work_dirs/lmcl/s0 ... --out results/pretrain

Each --run is LABEL=WORK_DIR (written by tools/train.py); runs sharing a label (seeds) are shown as mean ± std
of their last validation. Columns: each member's own classifier, the ensemble, and for L-MCL each auxiliary
classifier (s1..s3) and the v2 aggregate.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mcl_mm.utils.results import PRETRAIN_METRICS, collect_runs  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description='Tabulate pretraining runs')
    parser.add_argument('--run', action='append', required=True, help='LABEL=WORK_DIR (repeatable)')
    parser.add_argument('--out', required=True, help='output folder for pretrain.md / .csv / .png')
    args = parser.parse_args(argv)
    try:
        markdown, chart = collect_runs(args.run, PRETRAIN_METRICS, args.out, 'pretrain', 'Pretraining top-1',
                                       'pretraining', zoom=True)
    except FileNotFoundError as err:
        raise SystemExit(f'collect_pretrain: {err}')
    print(markdown)
    print(f'written: {args.out}/pretrain.md, pretrain.csv' + (f', {chart}' if chart else ''))


if __name__ == '__main__':
    main()
