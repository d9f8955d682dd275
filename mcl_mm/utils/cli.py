"""One-line failures for the command-line tools: bad input ends in ``<tool>: <what is wrong and what to do>``
on stderr and a non-zero exit, never a traceback (a bug in our code still shows its traceback)."""
import errno
import re
import sys
from typing import Callable, Optional

from .errors import USER_ERRORS, ToolInputError  # noqa: F401 (ToolInputError: the tools raise it)

_DISK_ERRORS = {
    errno.ENOSPC: 'no space left on the device',
    errno.EDQUOT: 'the disk quota is exceeded',
    errno.EROFS: 'the file system is read-only'
}


def disk_error_message(err: BaseException) -> Optional[str]:
    """The one line for a write the disk refused (full, over quota, read-only); None for any other error.
    Every write of ours is atomic, so the message can promise that nothing was half-written."""
    if not isinstance(err, OSError) or err.errno not in _DISK_ERRORS:
        return None
    return (f'{_DISK_ERRORS[err.errno]} while writing {err.filename or "an output"}: nothing was half-written; free '
            'space or write somewhere else, then run the same command again')


def error_line(err: BaseException) -> str:
    """The one line that says what is wrong. An error raised in a DataLoader worker reaches the main process as
    ``Caught DataError in DataLoader worker process 0.`` + the worker's traceback: its last line is the message."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    if lines[0].startswith('Caught ') and 'DataLoader worker' in lines[0] and len(lines) > 1:
        return re.sub(rf'^[\w.]*\b{type(err).__name__}: ', '', lines[-1])  # 'pkg.mod.DataError: msg' -> msg
    return lines[0]


def run_tool(tool: str, main: Callable, *args, extra_errors=(), **kwargs):
    """Call ``main(*args, **kwargs)``; an input error (``USER_ERRORS`` + ``extra_errors``) or a refused write
    exits with one line."""
    try:
        return main(*args, **kwargs)
    except USER_ERRORS + tuple(extra_errors) as err:
        sys.exit(f'{tool}: {error_line(err)}')
    except OSError as err:
        message = disk_error_message(err)
        if message is None:
            raise
        sys.exit(f'{tool}: {message}')


def positive_int(text: str) -> int:
    """argparse type for a count that must be at least 1 (seeds, jobs, draws, repeats)."""
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{value} is not a count: give 1 or more')
    return value
