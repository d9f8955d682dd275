"""Checkpoint loading under torch >= 2.6 (weights_only=True by default).

mmengine 0.10.7 calls ``torch.load(filename)``; with torch 2.14 that refuses the Python objects a full
training checkpoint holds (the message hub's ``HistoryBuffer``s, numpy arrays). The rule here:

1. Every local file is first loaded with ``weights_only=True`` and an allowlist of the plain data types
   mmengine writes (``HistoryBuffer``, numpy arrays / dtypes / scalars). Weight-only files and ordinary
   mmengine checkpoints load this way — no arbitrary code can run.
2. Only if that is refused, and the file lies inside a directory the current run owns (its ``work_dir``,
   registered with :func:`trust_directory` by ``tools/train.py``), it is loaded with full unpickling.
3. Anything else fails with one message naming the file and the way out.

Truncated or corrupt files fail with a message that says so instead of a zip-reader traceback.
"""
import pickle
import zipfile
from pathlib import Path
from typing import List

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_TRUSTED_DIRS: List[Path] = []


class CheckpointLoadError(RuntimeError):
    """A checkpoint that cannot be loaded; the message says why and what to do."""


def _numpy_safe_globals() -> list:
    items = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    items += [_reconstruct, scalar]
    items += [type(np.dtype(t)) for t in ('float16', 'float32', 'float64', 'int32', 'int64', 'bool', 'uint8')]
    return items


def _history_buffer_getattr(obj, name):
    """Stands in for ``getattr`` while unpickling: a pickled HistoryBuffer refers to its statistics methods
    as ``getattr(HistoryBuffer, 'mean')``; nothing else may be looked up."""
    allowed = {'min', 'max', 'current', 'mean', *getattr(HistoryBuffer, '_statistics_methods', {})}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'refusing getattr({obj!r}, {name!r}) in a checkpoint')


SAFE_GLOBALS = [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), *_numpy_safe_globals()]


def trust_directory(path) -> None:
    """Allow full unpickling of checkpoints under ``path`` (a directory this run writes)."""
    resolved = Path(path).expanduser().resolve()
    if resolved not in _TRUSTED_DIRS:
        _TRUSTED_DIRS.append(resolved)


def is_trusted(filename) -> bool:
    resolved = Path(filename).expanduser().resolve()
    return any(resolved.is_relative_to(d) for d in _TRUSTED_DIRS)


def load_checkpoint_file(filename, map_location=None):
    """Load a local checkpoint under the rule in this module's docstring."""
    path = Path(filename).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    if path.stat().st_size == 0:
        raise CheckpointLoadError(f'checkpoint {filename} is empty (0 bytes): it was not written completely; '
                                  'use an earlier checkpoint of the run')
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut-off one loses its directory
        raise CheckpointLoadError(f'checkpoint {filename} is corrupt or truncated (not a complete PyTorch zip '
                                  'archive); use an earlier checkpoint of the run')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not is_trusted(path):
            raise CheckpointLoadError(
                f'checkpoint {filename} holds Python objects that safe (weights_only) loading refuses '
                f'({str(err).splitlines()[0]}). Only checkpoints inside the current run\'s work_dir are '
                'unpickled in full; if you trust this file, copy it into the work_dir (or export its weights '
                'with tools/model_converters/publish_model.py) and try again.') from None
    except (RuntimeError, EOFError, ValueError) as err:
        raise CheckpointLoadError(f'checkpoint {filename} is corrupt or truncated ({str(err).splitlines()[0]}); '
                                  'use an earlier checkpoint of the run') from None
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointLoadError(f'checkpoint {filename} is corrupt or truncated ({str(err).splitlines()[0]}); '
                                  'use an earlier checkpoint of the run') from None


def register_checkpoint_loader() -> None:
    """Make mmengine's local-file scheme use :func:`load_checkpoint_file`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
