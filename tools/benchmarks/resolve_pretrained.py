"""Print the backbone init prefix a downstream fine-tune needs for PRETRAIN, after checking it fits CONFIG.

    python tools/benchmarks/resolve_pretrained.py CONFIG PRETRAIN [--member I]

Used by tools/benchmarks/*/dist_train.sh and slurm_train.sh. PRETRAIN may be a cohort training checkpoint
(--member I required), a tools/model_converters/publish_model.py file or a
tools/model_converters/extract_backbone.py file; the selected weights are loaded strictly into CONFIG's backbone,
so a file that does not fit fails here, in one line, instead of training a detector from random weights. Prints
the prefix (``None`` for none) on stdout, the kind on stderr.
"""
import argparse
import sys

from mcl_mm.apis.pretrained import resolve_backbone_init, shell_quote_free
from mcl_mm.utils.cli import run_tool


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('pretrain')
    parser.add_argument('--member', type=int)
    args = parser.parse_args(argv)
    kind, prefix = run_tool(
        'fine-tune', resolve_backbone_init, args.config, args.pretrain, args.member, extra_errors=(KeyError, ))
    print(
        f'fine-tune: backbone from {args.pretrain} ({kind}, prefix {prefix}), checked against {args.config}',
        file=sys.stderr)
    print(shell_quote_free(prefix))


if __name__ == '__main__':
    main()
