"""Where the project's own files are."""
import os.path as osp


def project_root() -> str:
    """The folder holding ``tools/`` and ``configs/``: the checkout for a source install, ``mcl_mm/.mim`` for a
    wheel (where ``mim`` finds them too)."""
    package = osp.dirname(osp.dirname(osp.realpath(__file__)))  # the checkout, not a site-packages link
    checkout = osp.dirname(package)
    if osp.isfile(osp.join(checkout, 'tools', 'train.py')):
        return checkout
    return osp.join(package, '.mim')
