"""Publish one cohort member in the OpenMMLab manner: weights only, hash-named, with metadata.

    python tools/model_converters/publish_model.py IN OUT [--member I] [--with-head]

Writes OUT_YYYYMMDD-<sha256[:8]>.pth holding {'state_dict': backbone.* (+ head.* with --with-head),
'meta': ...} — optimizer, schedulers, message hub, memory banks, embedding heads and the other members are
stripped — OUT_YYYYMMDD-<sha256[:8]>.py, an mmpretrain config of that member alone (backbone, neck, head, the
cohort's preprocessing and test pipeline, dataset_meta), so that ``mmpretrain.get_model(PY, pretrained=PTH)``
and ``ImageClassificationInferencer(PY, pretrained=PTH)`` run it (use --with-head for predictions) — and
OUT_YYYYMMDD-<sha256[:8]>.json with the same metadata (versions and dataset_meta included) plus a ready
metafile.yml entry.
The metadata records the algorithm, member, architecture, source config, epoch, and the member's and the
ensemble's validation accuracy at that epoch, from the run's logs beside the checkpoint (vis_data/scalars.json, or
mmengine's text log when the run logged to TensorBoard / W&B only); none is recorded when the run has no such
log (the checkpoint's message hub is written before that epoch's validation, so it is not used).
"""
import argparse

from mcl_mm.apis.publish import publish_member
from mcl_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Publish a cohort member checkpoint')
    parser.add_argument('in_file', help='MCL cohort training checkpoint')
    parser.add_argument('out_file', help='output name stem, e.g. mcl_resnet18x2_in1k_member0')
    parser.add_argument('--member', type=int, default=0)
    parser.add_argument('--with-head', action='store_true', help="also keep the member's classifier (head.*)")
    parser.add_argument(
        '--config',
        help="the training config, for a checkpoint without one (meta.cfg) or to use "
        "yours instead of the stored one")
    parser.add_argument('--force', action='store_true', help='overwrite existing output files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    path, meta = run_tool('publish_model', publish_member, args.in_file, args.out_file, args.member, args.with_head,
                          args.config, args.force)
    acc = meta.get('val_accuracy') or {}
    print(f'publish_model: {path} (member {args.member}, epoch {meta["epoch"]}, '
          f'member top-1 {acc.get("member_top1")}, ensemble top-1 {acc.get("ensemble_top1")})')


if __name__ == '__main__':
    main()
