"""mcl_mm: Mutual Contrastive Learning (online knowledge distillation) for OpenMMLab 2.x."""
import os
import re
import shutil
import sys
from pathlib import Path
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'mcl_mm' / 'version.py').read_text()).group(1)

# Pinned stack (versions measured to resolve together; README "Set up"). mmcv 2.1.0 has no wheel for torch 2.14:
# tools/install.sh builds it from the sdist and caches the wheel before this is installed.
INSTALL_REQUIRES = [
    'torch==2.14.1',
    'torchvision==0.29.1',
    'mmengine==0.10.7',
    'mmcv==2.1.0',
    'mmdet==3.3.0',
    'mmsegmentation==1.2.2',
    'mmpretrain==1.2.0',
    'ftfy',  # mmseg imports it
    'regex',  # mmseg imports it
    # torch 2.14 needs >=77.0.3; mmengine's `mmdet::` config lookup and mmcv import pkg_resources (gone in 82)
    'setuptools>=77.0.3,<82',
    'pycocotools',
    'matplotlib',
    'scipy',
    'scikit-learn',  # ships the handwritten-digits images the demo world is built from (no download)
    'openmim>=0.3.9',  # `mim train / test / run mcl_mm ...` (files below, under mcl_mm/.mim)
]

# What `mim` looks for inside an installed codebase (mmpretrain's layout): tools/, configs/, model-index.yml.
MIM_FILES = ('tools', 'configs', 'model-index.yml')


def link_mim_files():
    """An editable install: mcl_mm/.mim/<name> links to the checkout's MIM_FILES, so edits show at once."""
    mim_path = HERE / 'mcl_mm' / '.mim'
    mim_path.mkdir(exist_ok=True)
    for name in MIM_FILES:
        dst = mim_path / name
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        os.symlink(os.path.relpath(HERE / name, mim_path), dst)


class BuildPyWithMim(build_py):
    """A wheel (or any non-editable build) gets copies of MIM_FILES under mcl_mm/.mim in the build tree; the
    checkout's own mcl_mm/.mim is never touched."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim_path = Path(self.build_lib) / 'mcl_mm' / '.mim'
        shutil.rmtree(mim_path, ignore_errors=True)
        mim_path.mkdir(parents=True)
        for name in MIM_FILES:
            src = HERE / name
            if src.is_dir():
                shutil.copytree(src, mim_path / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copyfile(src, mim_path / name)


if {'develop', 'editable_wheel'} & set(sys.argv):
    link_mim_files()

setup(
    name='mcl_mm',
    version=VERSION,
    description='Mutual Contrastive Learning (MCL / L-MCL) for OpenMMLab: pretraining cohorts and transfer',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.11',
    packages=find_packages(include=['mcl_mm', 'mcl_mm.*']),
    include_package_data=True,
    cmdclass={'build_py': BuildPyWithMim},
    install_requires=INSTALL_REQUIRES,
    # pytest-xdist runs the suite on every core; coverage (patch = subprocess / fork, 7.10.4+) also measures the
    # tool runs the tests start (`make coverage`).
    extras_require={'tests': ['pytest>=7', 'pytest-timeout', 'pytest-xdist>=3.5', 'coverage>=7.10.4']},
    license='Apache-2.0',
)
