"""The command lines of tools/train.py, tools/test.py and tools/preflight.py: ``--cfg-options`` parsing, the
launcher flags, the training options. argparse lives here and in tools/, nowhere else."""
import argparse
import os
import re

from mmengine.config import DictAction

UNSAFE_FLAG = '--unsafe-allow-pickle'


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser with two fixes: an item without ``=`` is a usage error instead of a
    traceback, and a value keeps its spaces (mmengine deletes every space, so ``data_root=my data`` would
    silently name another folder, ``mydata``). Lists (``a,b`` / ``[a, b]`` / ``(a, b)``) parse as in mmengine;
    only the whitespace around each element is dropped."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            if '=' not in item:
                parser.error(f'{option_string} takes key=value items (e.g. model.loss.tau=0.1), got {item!r}')
            key, value = item.split('=', maxsplit=1)
            try:
                options[key] = parse_option_value(value)
            except ValueError as err:
                parser.error(f'{option_string} {key}: {err}')
        setattr(namespace, self.dest, options)


def _top_level_split(text: str) -> list:
    """``text`` split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in '\'"':
            quote = char
        elif char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
        elif char == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_option_value(text: str):
    """One ``--cfg-options`` value: int, float, bool, None, a list / tuple (nested, as mmengine's), or the
    string itself with its inner spaces (one pair of surrounding quotes removed; quotes protect commas and
    brackets)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"' and text[0] not in text[1:-1]:
        return text[1:-1]
    bare = re.sub(r"'[^']*'|\"[^\"]*\"", '', text)  # what lies outside quotes
    if bare.count('(') != bare.count(')') or bare.count('[') != bare.count(']'):
        raise ValueError(f'unbalanced brackets in {text!r}')
    bracketed = len(text) >= 2 and (text[0], text[-1]) in (('(', ')'), ('[', ']'))
    if not bracketed and ',' not in bare:
        return DictAction._parse_int_float_bool(text)
    inner = text[1:-1] if bracketed else text
    items = [parse_option_value(part) for part in _top_level_split(inner) if part.strip()]
    if not bracketed:
        return CommaList(items, text=text)
    return tuple(items) if text[0] == '(' else items


class CommaList(list):
    """A value written with commas and no brackets (``a,b``): a list, as mmengine parses it — unless the config
    holds a string at that key, where the commas are part of a path (``data_root=/data/my runs,v2``); the text is
    kept for that (:func:`load_config`)."""

    def __init__(self, items, text: str):
        super().__init__(items)
        self.text = text


# What each launcher's process needs from its environment (mmengine's init_dist reads them).
LAUNCHER_ENVIRONMENT = {
    'pytorch': ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
    'slurm': ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
    'mpi': ('OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'MASTER_ADDR'),
}
LAUNCHED_BY = {
    'pytorch': 'tools/dist_train.sh CONFIG N (or torchrun)',
    'slurm': 'tools/slurm_train.sh (or srun)',
    'mpi': 'mpirun'
}


def parse_with_launcher(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Add the launcher flags every OpenMMLab train / test tool takes, parse, and export ``LOCAL_RANK`` (torch
    launchers pass ``--local-rank`` or set it themselves)."""
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    missing = [name for name in LAUNCHER_ENVIRONMENT.get(args.launcher, ()) if not os.environ.get(name)]
    if missing:
        raise SystemExit(f'{parser.prog}: --launcher {args.launcher} runs one process of a job its launcher started, '
                         f'and this process has no {", ".join(missing)} in its environment: start it with '
                         f'{LAUNCHED_BY[args.launcher]}, or use --launcher none for a single process')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def add_unsafe_pickle_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--unsafe-allow-pickle`` flag of tools/train.py and tools/test.py."""
    parser.add_argument(
        UNSAFE_FLAG,
        dest='unsafe_allow_pickle',
        action='store_true',
        help='load checkpoints that hold arbitrary Python objects by unpickling them in full. Unpickling runs code '
        'from the file: use it only for files from someone you trust (checkpoints mcl_mm writes never need it)')


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of tools/train.py after CONFIG (also taken by tools/preflight.py, which checks that run)."""
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true', help='do not validate during training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the LR by the actual batch size')
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers', action='store_true', help='disable persistent_workers in the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config settings, e.g. model.loss.tau=0.1 (key=value, xxx=[a,b] for lists)')
    add_unsafe_pickle_flag(parser)
