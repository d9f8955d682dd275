"""Folders the demo and the studies write, and the only ones they ever delete.

A folder we create gets a stamp file (:data:`STAMP`). A folder is replaced or removed only when the stamp proves
we made it (or when it is empty); a folder of the user's — a ``--out`` that already holds files, a ``data/demo``
without our stamp — is refused in one line naming it, and nothing in it is touched.
"""
import os
import os.path as osp
import shutil

from .errors import ToolInputError

STAMP = '.mcl_mm-owned'


def is_owned(folder: str) -> bool:
    """Whether ``folder`` carries our stamp (a symlinked folder never counts as ours)."""
    return osp.isfile(osp.join(folder, STAMP)) and not osp.islink(folder)


def refuse_users_folder(folder: str, what: str) -> None:
    """Raise ToolInputError when ``folder`` holds files and not our stamp: it is the user's."""
    if osp.isdir(folder) and not is_owned(folder) and os.listdir(folder):
        raise ToolInputError(f'{folder} exists and holds files mcl_mm did not write (no {STAMP} stamp in it), so the '
                             f'{what} will not write there or delete anything in it: give another folder, or move '
                             'those files away yourself')


def claim_folder(folder: str, what: str) -> str:
    """Make ``folder`` ours: create it, or stamp it if it is empty; an existing stamped folder is kept as it is.

    Raises:
        ToolInputError: ``folder`` is a file, or a folder that holds files without our stamp.
    """
    if osp.lexists(folder) and not osp.isdir(folder):
        raise ToolInputError(f'{folder} is a file, not a folder: the {what} needs a folder there')
    refuse_users_folder(folder, what)
    os.makedirs(folder, exist_ok=True)
    if not is_owned(folder):
        with open(osp.join(folder, STAMP), 'w') as f:
            f.write(f'written by mcl_mm ({what}); it may delete this folder when it runs again\n')
    return folder


def replace_folder(folder: str, what: str) -> str:
    """An empty folder of ours at ``folder``: a stamped folder from an earlier run is deleted first.

    Raises:
        ToolInputError: ``folder`` holds files and no stamp (it is left as it is).
    """
    refuse_users_folder(folder, what)
    if is_owned(folder):
        shutil.rmtree(folder)
    return claim_folder(folder, what)
