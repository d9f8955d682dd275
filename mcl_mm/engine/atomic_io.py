"""Atomic local writes for everything mmengine saves (checkpoints included), and a resume that survives a
kill at any moment.

mmengine writes a checkpoint with ``open(path, 'wb').write(...)``: a kill during the write leaves a
truncated ``epoch_N.pth``. The local file backend is replaced by one that writes a temporary file in the
same folder, fsyncs it and renames it over the target (atomic on POSIX), so a checkpoint file is either
complete or absent. ``last_checkpoint`` (written by CheckpointHook with plain ``open``) is checked by
:func:`repair_last_checkpoint` before ``--resume auto``.
"""
import glob
import os
import os.path as osp
import tempfile
import zipfile
from typing import Optional

from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write_bytes(data: bytes, filepath: str) -> None:
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-' + osp.basename(filepath) + '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's LocalBackend whose writes are temp-file + fsync + rename."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), str(filepath))


def _install() -> None:
    from mmengine.fileio import io as fileio
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # get_file_backend caches instances: drop plain local ones created before this module was imported.
    for key, backend in list(fileio.backend_instances.items()):
        if type(backend) is LocalBackend:
            del fileio.backend_instances[key]


_install()


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
    if named and _complete(named):
        return named
    candidates = [p for p in glob.glob(osp.join(work_dir, '*.pth')) if _complete(p)]
    if not candidates:
        return None
    newest = max(candidates, key=osp.getmtime)
    atomic_write_bytes(newest.encode(), pointer)
    print(f'mcl_mm: last_checkpoint named {named or "nothing"} (missing or incomplete); resuming from {newest}')
    return newest
