"""One-line failures for the command-line tools: bad input ends in ``<tool>: <what is wrong and what to do>``
on stderr and a non-zero exit, never a traceback (a bug in our code still shows its traceback)."""
import errno
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


def run_tool(tool: str, main: Callable, *args, extra_errors=(), **kwargs):
    """Call ``main(*args, **kwargs)``; an input error (``USER_ERRORS`` + ``extra_errors``) or a refused write
    exits with one line."""
    try:
        return main(*args, **kwargs)
    except USER_ERRORS + tuple(extra_errors) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        sys.exit(f'{tool}: {message}')
    except OSError as err:
        message = disk_error_message(err)
        if message is None:
            raise
        sys.exit(f'{tool}: {message}')
