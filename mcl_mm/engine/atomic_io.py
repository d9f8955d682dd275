"""Atomic local writes for everything mmengine saves (checkpoints included), and a resume that survives a
kill at any moment.

mmengine writes a checkpoint with ``open(path, 'wb').write(...)``: a kill during the write leaves a
truncated ``epoch_N.pth``. The local file backend is replaced by one that writes a temporary file in the
same folder, fsyncs it and renames it over the target (atomic on POSIX), so a checkpoint file is either
complete or absent. ``last_checkpoint`` (written by CheckpointHook with plain ``open``) is checked by
:func:`repair_last_checkpoint` before ``--resume auto``.
"""
import contextlib
import glob
import os
import os.path as osp
import re
import signal
import tempfile
import threading
import zipfile
from typing import Dict, Optional

from mmengine.fileio.backends import LocalBackend, register_backend

TEMP_PREFIX = '.tmp-'


def _temp_name_pattern(filepath: str) -> str:
    """Temporary files of ``filepath``: ``.tmp-<name>.<pid>.<random>`` beside it (the pid finds stale ones)."""
    return osp.join(osp.dirname(osp.abspath(filepath)), f'{TEMP_PREFIX}{glob.escape(osp.basename(filepath))}.*')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_stale_temp_files(filepath: str) -> list:
    """Remove temporary files of ``filepath`` left by writers that no longer run (killed with SIGKILL, power
    loss). Files of live writers are left alone. Returns the removed paths."""
    removed = []
    for path in glob.glob(_temp_name_pattern(filepath)):
        parts = osp.basename(path).rsplit('.', 2)
        if len(parts) == 3 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            try:
                os.remove(path)
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def _current_umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, briefly, for every thread)
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _sigterm_raises():
    """While writing, SIGTERM unwinds the stack like Ctrl-C does, so the temporary file is removed (only the
    main thread can install handlers; elsewhere the next write sweeps what is left)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write_bytes(data: bytes, filepath: str) -> None:
    """Write ``data`` to ``filepath`` atomically: a temporary file in the same folder, fsync, rename.

    The file gets the permissions a plain ``open(filepath, 'wb')`` would (0666 less the umask). An
    interrupted write (exception, Ctrl-C, SIGTERM) removes its temporary file; ones left by a SIGKILL are
    swept at the next write of the same target.
    """
    atomic_write_files({filepath: data})


def atomic_write_files(contents: Dict[str, bytes]) -> None:
    """Write several files as one: each goes to a temporary file beside its target first (fsynced); only
    when all are complete are they renamed into place. A failure on the way (a full disk, a read-only folder,
    Ctrl-C, SIGTERM) leaves every target as it was, so a re-run starts from the same state."""
    temps = []
    with _sigterm_raises():
        try:
            for filepath, data in contents.items():
                directory = osp.dirname(osp.abspath(filepath))
                os.makedirs(directory, exist_ok=True)
                sweep_stale_temp_files(filepath)
                fd, tmp = tempfile.mkstemp(
                    dir=directory, prefix=f'{TEMP_PREFIX}{osp.basename(filepath)}.{os.getpid()}.')
                temps.append(tmp)
                os.fchmod(fd, 0o666 & ~_current_umask())
                with os.fdopen(fd, 'wb') as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            # Renames need no space (a full disk cannot stop them midway); Ctrl-C / SIGTERM wait until all are done.
            blocked = threading.current_thread() is threading.main_thread()
            if blocked:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                for tmp, filepath in zip(temps, contents):
                    os.replace(tmp, filepath)
            finally:
                if blocked:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        except BaseException:
            for tmp in temps:
                if osp.exists(tmp):
                    os.remove(tmp)
            raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's LocalBackend whose writes are temp-file + fsync + rename."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), str(filepath))


def install_atomic_local_backend() -> None:
    """Make mmengine's local file backend :class:`AtomicLocalBackend` (idempotent)."""
    from mmengine.fileio import io as fileio
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # get_file_backend caches instances: drop plain local ones created before this module was imported.
    for key, backend in list(fileio.backend_instances.items()):
        if type(backend) is LocalBackend:
            del fileio.backend_instances[key]


# What mmengine's CheckpointHook names its training checkpoints; anything else in a work_dir (an exported
# backbone, a published member, best_*.pth) is not a resume point.
TRAINING_CHECKPOINT = re.compile(r'^(epoch|iter)_\d+\.pth$')


def _complete(path: str) -> bool:
    return osp.isfile(path) and osp.getsize(path) > 0 and zipfile.is_zipfile(path)


def repair_last_checkpoint(work_dir: str) -> Optional[str]:
    """Make ``work_dir/last_checkpoint`` name a complete checkpoint (the newest one) before an auto-resume.

    Returns the checkpoint the run will resume from (None: nothing to resume; the run starts fresh).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and not osp.isabs(named):
            named = osp.join(work_dir, named)
    if named and TRAINING_CHECKPOINT.match(osp.basename(named)) and _complete(named):
        return named
    candidates = [
        p for p in glob.glob(osp.join(work_dir, '*.pth')) if TRAINING_CHECKPOINT.match(osp.basename(p)) and _complete(p)
    ]
    if not candidates:
        return None
    newest = max(candidates, key=osp.getmtime)
    atomic_write_bytes(newest.encode(), pointer)
    print(f'mcl_mm: last_checkpoint named {named or "nothing"} (missing or incomplete); resuming from {newest}')
    return newest
