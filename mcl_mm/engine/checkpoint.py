"""Checkpoint loading under torch >= 2.6 (weights_only=True by default).

mmengine 0.10.7 calls ``torch.load(filename)``; with torch 2.14 that refuses the Python objects a full
training checkpoint holds (the message hub's ``HistoryBuffer``s, numpy arrays). The rule here:

1. Every local file is loaded with ``weights_only=True`` and an allowlist of the plain data types mmengine
   writes (``HistoryBuffer``, numpy arrays / dtypes / scalars). Weight-only files and every checkpoint this
   project writes load this way — no code in the file can run.
2. Full unpickling (which runs whatever code the file carries) happens only after an explicit opt-in:
   :func:`allow_full_unpickling`, which the tools call for ``--unsafe-allow-pickle``. Where a file lies
   (a work_dir, a download folder) never matters: a copied or downloaded work_dir is not proof of trust.
3. Anything else fails with one message naming the file and the way out.

Truncated or corrupt files fail with a message that says so instead of a zip-reader traceback.
"""
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mcl_mm.utils.arguments import UNSAFE_FLAG
from mcl_mm.utils.errors import CheckpointLoadError

_FULL_UNPICKLING = False


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


def allow_full_unpickling(allowed: bool = True) -> None:
    """Let checkpoints that safe loading refuses be unpickled in full, for this process. Only for files the
    user trusts: unpickling runs any code the file carries."""
    global _FULL_UNPICKLING
    _FULL_UNPICKLING = allowed


def load_checkpoint_file(filename, map_location=None, mmap: bool = False):
    """Load a local checkpoint under the rule in this module's docstring (``mmap``: tensors stay on disk
    until touched, for a look at a large file's keys)."""
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
            return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        if not _FULL_UNPICKLING:
            raise CheckpointLoadError(
                f'checkpoint {filename} holds Python objects that safe (weights_only) loading refuses '
                f'({str(err).splitlines()[0]}); unpickling them would run code from the file. If you trust '
                f'whoever made it, pass {UNSAFE_FLAG} to tools/train.py / tools/test.py; otherwise ask for a '
                'weights-only file (tools/model_converters/publish_model.py or extract_backbone.py).') from None
    except (RuntimeError, EOFError, ValueError) as err:
        raise CheckpointLoadError(f'checkpoint {filename} is corrupt or truncated ({str(err).splitlines()[0]}); '
                                  'use an earlier checkpoint of the run') from None
    try:
        return torch.load(path, map_location=map_location, weights_only=False, mmap=mmap)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise CheckpointLoadError(f'checkpoint {filename} is corrupt or truncated ({str(err).splitlines()[0]}); '
                                  'use an earlier checkpoint of the run') from None


def register_checkpoint_loader() -> None:
    """Make mmengine's local-file scheme use :func:`load_checkpoint_file`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)


def check_resumable(filename) -> None:
    """A file ``--resume`` can continue from: a training checkpoint (weights, optimizer, epoch / iteration),
    not an exported or published model that happens to sit in the work_dir."""
    ckpt = load_checkpoint_file(filename, map_location='cpu', mmap=True)
    # mmengine writes message_hub into every training checkpoint (optimizer only with save_optimizer); exported
    # and published models have state_dict and meta but never a message hub.
    missing = [k for k in ('state_dict', 'meta', 'message_hub') if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointLoadError(f'{filename} is not a training checkpoint (it has no {", ".join(missing)}; an '
                                  'exported or published model cannot be resumed): resume from an epoch_N.pth / '
                                  'iter_N.pth that tools/train.py wrote, or start a new run with load_from')
