"""tools/install.sh as a new user runs it: a brand-new venv and an empty wheel cache, up to mmcv's build.

The regression this guards: a new venv's setuptools (65.x) satisfies "<82", torch 2.14 then needs
">=77.0.3" and pip upgrades setuptools to the newest release, which has no pkg_resources, so mmcv's
setup.py failed on every first install. Here the install runs for real (venv, torch from pip, the build
preconditions, the mmcv sdist fetched through pip with the user's configuration, mmcv's egg_info) and stops
before the 13-minute compile (MCL_MM_SKIP_MMCV_COMPILE=1). With the old step order it fails at egg_info.
"""
import os
import os.path as osp
import shutil
import subprocess

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def test_first_install_in_a_new_venv_reaches_the_mmcv_build(tmp_path):
    venv, cache = tmp_path / 'venv', tmp_path / 'cache'
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
    # A new venv and an empty mcl_mm wheel cache, as on a new machine. pip's own download cache is the user's and
    # is left alone: it saves the download of torch, not a step of the install.
    env.update(MCL_MM_VENV=str(venv), MCL_MM_CACHE=str(cache), MCL_MM_SKIP_MMCV_COMPILE='1')
    try:
        proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'install.sh')],
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=1500)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        assert "mmcv metadata step ok; compile skipped" in out, out[-4000:]
        assert 'FAILED' not in out
        check = subprocess.run([
            str(venv / 'bin' / 'python'), '-c',
            'import pkg_resources, setuptools, wheel, ninja, torch; print(setuptools.__version__)'
        ],
                               capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr
        major, minor, patch = (int(x) for x in check.stdout.strip().split('.')[:3])
        assert (77, 0, 3) <= (major, minor, patch) < (82, ), check.stdout
        assert not list(cache.rglob('*.whl'))  # nothing half-built was cached
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_no_file_in_the_repository_names_a_package_index_or_files_outside_it():
    tracked = subprocess.run(['git', 'ls-files'], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.fail('git ls-files listed nothing: run the tests from a git checkout')
    offenders = []
    needles = ('pypi' + '.org', 'pythonhosted' + '.org', '..' + '/shared', 'MCL' + '_SPEC', 'STACK' + '_NOTES')
    for name in tracked:
        path = osp.join(REPO, name)
        if not osp.isfile(path) or name.endswith(('.png', '.pth', '.jpg')):
            continue
        text = open(path, errors='ignore').read()
        offenders += [f'{name}: {n}' for n in needles if n in text]
    assert not offenders, offenders
