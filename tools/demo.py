"""The main job on embedded data: pretrain an MCL cohort and its independent baseline, transfer a member's
backbone to detection and segmentation, and compare — all through tools/train.py and the project's configs.

    python tools/demo.py [--quick] [--seeds N] [--jobs J] [--out outputs/demo]
    python tools/demo.py --selfsup [--quick] [--seeds N] [--out outputs/demo_selfsup]

--selfsup runs the self-supervised variant instead: MoCo v2 + MCL x2 and MoCo v2 x2 pretrained on
the same images without labels, member 0 of each evaluated by a linear probe (frozen backbone) and fine-tuned
to Faster R-CNN (VOC format) beside random initialisation.

The steps (generate the digits world, pretrain MCL x2 and the independent baseline, extract member 0, fine-tune
Mask R-CNN / Faster R-CNN / FCN from each initialisation, publish the MCL member and reload it with
mmpretrain.get_model, tabulate and plot) are documented in mcl_mm/experiments/demo.py, which runs them; this
script parses the command line.
"""
import argparse

from mcl_mm.experiments.demo import run_demo
from mcl_mm.experiments.demo_selfsup import run_selfsup_demo
from mcl_mm.utils.cli import positive_int, run_tool
from mcl_mm.utils.paths import project_root

ROOT = project_root()


def main(argv=None):
    parser = argparse.ArgumentParser(description='MCL demo: pretrain -> transfer -> results, on generated data')
    parser.add_argument('--quick', action='store_true', help='tiny sizes, 1 seed: the pipeline in ~3 minutes')
    parser.add_argument('--seeds', type=positive_int, help='seeds per arm (full: 3, quick: 1)')
    parser.add_argument('--jobs', type=positive_int, default=2, help='runs at once (each gets cores / jobs threads)')
    parser.add_argument('--selfsup', action='store_true', help='the self-supervised variant (MoCo-MCL vs MoCo)')
    parser.add_argument(
        '--out',
        help='output folder (tables, plots, logs, work dirs); default outputs/demo, '
        'outputs/demo_selfsup with --selfsup')
    parser.add_argument('--workdir', default=ROOT, help='where data/demo lives (configs read data/demo/...)')
    args = parser.parse_args(argv)
    options = vars(args)
    run_tool('demo.py', run_selfsup_demo if options.pop('selfsup') else run_demo, **options)


if __name__ == '__main__':
    main()
