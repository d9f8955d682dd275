"""Plot the training curves of any tools/train.py run: every loss term, every member, the ensemble, every
validation metric (top-1 of each member / stage classifier, mAP, mIoU ...).

    python tools/analysis_tools/plot_curves.py WORK_DIR [WORK_DIR ...] [--label NAME ...] [--out curves.png]
        [--metrics cohort/member_0/top1 cohort/ensemble/top1] [--losses loss_ce_m0 loss_vcl]

Reads the run's vis_data/scalars.json, or mmengine's text log when the run logged to TensorBoard / W&B only.
"""
import argparse
import os.path as osp
from collections import OrderedDict

from mcl_mm.experiments.report import plot_curves
from mcl_mm.utils.cli import ToolInputError, run_tool
from mcl_mm.utils.errors import RunRecordError


def main(argv=None):
    parser = argparse.ArgumentParser(description='Plot the loss and validation curves of training runs')
    parser.add_argument('work_dirs', nargs='+', help='work dirs written by tools/train.py')
    parser.add_argument('--label', nargs='+', help='one legend label per work dir (default: the folder names)')
    parser.add_argument('--out', default='curves.png', help='the PNG to write')
    parser.add_argument('--metrics', nargs='+', help='validation keys to draw (default: all)')
    parser.add_argument('--losses', nargs='+', help='loss keys to draw (default: every loss term)')
    parser.add_argument('--title', default='')
    args = parser.parse_args(argv)

    def check():
        labels = args.label or [osp.basename(osp.normpath(d)) for d in args.work_dirs]
        if len(labels) != len(args.work_dirs):
            raise ToolInputError(f'--label got {len(labels)} names for {len(args.work_dirs)} work dirs')
        for work_dir in args.work_dirs:
            if not osp.isdir(work_dir):
                raise ToolInputError(f'{work_dir} is not a folder (give the work_dir of a tools/train.py run)')
        if not args.out.endswith('.png'):
            raise ToolInputError(f'--out writes a PNG, got {args.out}')
        return OrderedDict(zip(labels, args.work_dirs))

    runs = run_tool('plot_curves', check)
    path = run_tool(
        'plot_curves',
        plot_curves,
        runs,
        args.out,
        args.title,
        args.metrics,
        args.losses,
        extra_errors=(RunRecordError, ))
    print(f'[plot_curves] wrote {path}')


if __name__ == '__main__':
    main()
