"""Collect pretraining runs (MCL, L-MCL, independent baselines) into one table (markdown + CSV) and a chart.

    python tools/analysis_tools/collect_pretrain.py --run mcl=work_dirs/mcl/s0 --run mcl=work_dirs/mcl/s1 \
        --run lmcl-v2=work_dirs/lmcl/s0 ... --out results/pretrain

Each --run is LABEL=WORK_DIR (written by tools/train.py); runs sharing a label (seeds) are shown as mean ± std
of their last validation. Columns: each member's own classifier, the ensemble, and for L-MCL each auxiliary
classifier (s1..s3) and the v2 aggregate.
"""

from mcl_mm.experiments.report import PRETRAIN_METRICS, collector_cli


def main(argv=None):
    collector_cli(
        argv,
        'collect_pretrain',
        'Tabulate pretraining runs',
        metrics=PRETRAIN_METRICS,
        name='pretrain',
        title='Pretraining top-1',
        first_column='pretraining',
        zoom=True)


if __name__ == '__main__':
    main()
