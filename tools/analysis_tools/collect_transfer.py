"""Collect a transfer sweep into one table (markdown + CSV) and a bar chart.

    python tools/analysis_tools/collect_transfer.py --run mcl=work_dirs/det_mcl --run mcl=work_dirs/seg_mcl \
        --run baseline=work_dirs/det_base ... --out results/transfer

Each --run is LABEL=WORK_DIR (an mmdet / mmseg work dir written by tools/train.py). Runs sharing a label
fill one row (e.g. detection and segmentation of the same initialisation); several runs of the same label
and metric (seeds) are shown as mean ± std. Metrics: COCO box / mask AP, VOC mAP, mIoU.
"""

from mcl_mm.experiments.report import TRANSFER_METRICS, collector_cli


def main(argv=None):
    # mmdet reports AP in [0, 1], mmseg mIoU in percent: show everything in percent.
    collector_cli(
        argv,
        'collect_transfer',
        'Tabulate a transfer sweep',
        metrics=TRANSFER_METRICS,
        name='transfer',
        title='Transfer by initialisation',
        first_column='initialisation',
        to_percent=lambda key: key.startswith(('coco/', 'pascal_voc/')))


if __name__ == '__main__':
    main()
