"""One-line failures for the command-line tools: bad input ends in ``<tool>: <what is wrong and what to do>``
on stderr and a non-zero exit, never a traceback (a bug in our code still shows its traceback)."""
import sys
from typing import Callable

from mcl_mm.engine.checkpoint import CheckpointLoadError
from mcl_mm.engine.hooks.strict_pretrained_hook import PretrainedMismatchError
from .cohort_checkpoint import CohortCheckpointError
from .results import RunRecordError
from .safe_config import UnsafeConfigError


class ToolInputError(ValueError):
    """Bad input to a tool, detected by the tool itself; the message says what to do."""


USER_ERRORS = (ToolInputError, CohortCheckpointError, CheckpointLoadError, PretrainedMismatchError, UnsafeConfigError,
               RunRecordError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def run_tool(tool: str, main: Callable, *args, extra_errors=(), **kwargs):
    """Call ``main(*args, **kwargs)``; an input error (``USER_ERRORS`` + ``extra_errors``) exits with one line."""
    try:
        return main(*args, **kwargs)
    except USER_ERRORS + tuple(extra_errors) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        sys.exit(f'{tool}: {message}')
