"""Export one cohort member's backbone from an MCL training checkpoint as a weights-only file.

    python tools/model_converters/extract_backbone.py CKPT OUT --member I [--format openmmlab|torchvision]

openmmlab: keys of mmpretrain's / mmdet's / mmseg's backbone (conv1.weight, layer1.0.conv1.weight, ...),
    verified to load strictly into the member's mmpretrain backbone and, for ResNet members, into mmdet's
    and mmseg's ResNet. Use in downstream configs with init_cfg=dict(type='Pretrained', checkpoint=OUT).
torchvision: backbone + the member's classifier as fc.*, verified to load strictly into
    torchvision.models.resnet<depth>(num_classes=C).
Embedding heads, auxiliary branches, memory banks and optimizer state are never written.
The stored training config (meta.cfg) is read as data, never executed; --config CONFIG replaces it. OUT must
not be the input, and an existing OUT is replaced only with --force. NaN/Inf weights are refused.
"""
import argparse

from mcl_mm.apis.export import extract_backbone
from mcl_mm.utils.cli import run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a cohort member backbone (weights only)')
    parser.add_argument('checkpoint', help='MCL cohort training checkpoint (tools/train.py output)')
    parser.add_argument('out', help='output .pth file')
    parser.add_argument('--member', type=int, default=0, help='which member (0-based)')
    parser.add_argument('--format', choices=['openmmlab', 'torchvision'], default='openmmlab')
    parser.add_argument(
        '--config',
        help="the training config, for a checkpoint without one (meta.cfg) or to use "
        "yours instead of the stored one")
    parser.add_argument('--force', action='store_true', help='overwrite OUT if it exists')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    info = run_tool('extract_backbone', extract_backbone, args.checkpoint, args.out, args.member, args.format,
                    args.config, args.force)
    print(f'extract_backbone: member {args.member} ({info["arch"]}) -> {args.out} '
          f'[{args.format}, {info["num_tensors"]} tensors; verified strict load into {", ".join(info["verified"])}]')


if __name__ == '__main__':
    main()
