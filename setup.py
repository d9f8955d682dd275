"""mcl_mm: Mutual Contrastive Learning (online knowledge distillation) for OpenMMLab 2.x."""
import re
from pathlib import Path

from setuptools import find_packages, setup

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
    'setuptools>=77.0.3,<82',  # torch 2.14 needs >=77.0.3; mmengine's `mmdet::` config lookup and mmcv import pkg_resources
    'pycocotools',
    'matplotlib',
    'scipy',
    'scikit-learn',  # ships the handwritten-digits images the demo world is built from (no download)
]

setup(
    name='mcl_mm',
    version=VERSION,
    description='Mutual Contrastive Learning (MCL / L-MCL) for OpenMMLab: pretraining cohorts and transfer',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.11',
    packages=find_packages(include=['mcl_mm', 'mcl_mm.*']),
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require={'tests': ['pytest>=7', 'pytest-timeout']},
    license='Apache-2.0',
)
