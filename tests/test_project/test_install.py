"""tools/install.sh as a new user runs it: a brand-new venv and an empty wheel cache, up to mmcv's build.

The regression this guards: a new venv's setuptools (65.x) satisfies "<82", torch 2.14 then needs
">=77.0.3" and pip upgrades setuptools to the newest release, which has no pkg_resources, so mmcv's
setup.py failed on every first install. Here the install runs for real (venv, pip resolving torch and
torchvision with their published requirements, the build preconditions, the mmcv sdist fetched through pip
with the user's configuration, mmcv's egg_info) and stops before the 13-minute compile
(MCL_MM_SKIP_MMCV_COMPILE=1). With the old step order it fails at egg_info.

What is cheaper than a user's first install: torch and torchvision come as small wheels of the same names and
versions whose one requirement is the real wheels' setuptools requirement (torch: setuptools>=77.0.3, the
cause of the regression) and which put the project venv's own torch, torchvision and their run-time
dependencies on the path; they reach pip through a constraints file (PIP_CONSTRAINT, user configuration that
install.sh honours). Unpacking the real wheels and the CUDA libraries (~100 s) is what CI's own install of a
fresh .venv does on every run.
"""
import base64
import hashlib
import os
import os.path as osp
import re
import shutil
import subprocess
import zipfile
from importlib import metadata

import pytest
from helpers import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.slow


def _wheel(directory, name: str, version: str, requires, files: dict) -> str:
    """A minimal py3-none-any wheel with the given metadata and files."""
    dist_info = f'{name}-{version}.dist-info'
    entries = dict(files)
    entries[f'{dist_info}/METADATA'] = (f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n' +
                                        ''.join(f'Requires-Dist: {r}\n' for r in requires))
    wheel = 'Wheel-Version: 1.0\nGenerator: mcl_mm-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    entries[f'{dist_info}/WHEEL'] = wheel
    path = osp.join(directory, f'{name}-{version}-py3-none-any.whl')
    record = []
    with zipfile.ZipFile(path, 'w') as archive:
        for entry, text in entries.items():
            archive.writestr(entry, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
            record.append(f'{entry},sha256={digest},{len(text.encode())}')
        archive.writestr(f'{dist_info}/RECORD', '\n'.join(record + [f'{dist_info}/RECORD,,']) + '\n')
    return path


def _runtime_closure(names):
    """The installed distributions ``names`` need at run time (their requirements, recursively; markers
    evaluated, extras left out), setuptools excepted: that one pip must resolve."""
    seen, todo = {}, list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen or name == 'setuptools':
            continue
        seen[name] = dist = metadata.distribution(name)
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({'extra': ''}):
                todo.append(requirement.name)
    return list(seen.values())


def _linked_torch(tmp_path):
    """A folder of links to the project venv's torch and torchvision and everything they import (no metadata,
    so pip in the new venv does not see them installed), and a constraints file pinning torch and torchvision to
    stand-in wheels of the same versions whose one requirement is the real wheel's setuptools requirement."""
    links, wheels = tmp_path / 'linked', tmp_path / 'wheels'
    links.mkdir()
    wheels.mkdir()
    site = str(metadata.distribution('torch').locate_file(''))
    top_level = {
        file.parts[0]
        for dist in _runtime_closure(['torch', 'torchvision'])
        for file in dist.files or []
        if not file.parts[0].endswith(('.dist-info', '.egg-info', '.pth')) and file.parts[0] not in ('..', 'bin')
    }
    for name in sorted(top_level):
        if osp.exists(osp.join(site, name)):
            os.symlink(osp.join(site, name), links / name)
    assert {'torch', 'torchvision', 'numpy', 'sympy', 'nvidia'} <= {p.name for p in links.iterdir()}, sorted(top_level)
    constraints = []
    for name in ('torch', 'torchvision'):
        real = metadata.distribution(name)
        requires = [r for r in real.requires or [] if canonicalize_name(Requirement(r).name) == 'setuptools']
        files = {'torch_linked.pth': f'{links}\n'} if name == 'torch' else {}
        path = _wheel(str(wheels), name, real.version.split('+')[0], requires, files)
        constraints.append(f'{name} @ file://{path}')
    (tmp_path / 'constraints.txt').write_text('\n'.join(constraints) + '\n')
    return tmp_path / 'constraints.txt'


def test_first_install_in_a_new_venv_reaches_the_mmcv_build(tmp_path):
    venv, cache = tmp_path / 'venv', tmp_path / 'cache'
    constraints = _linked_torch(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
    # A new venv and an empty mcl_mm wheel cache, as on a new machine; the user's pip configuration (indexes,
    # pip's own download cache) is kept, plus the constraints file.
    env.update(
        MCL_MM_VENV=str(venv), MCL_MM_CACHE=str(cache), MCL_MM_SKIP_MMCV_COMPILE='1', PIP_CONSTRAINT=str(constraints))
    try:
        proc = subprocess.run(['bash', osp.join(REPO, 'tools', 'install.sh')],
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=1500)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        assert 'installing torch==2.14.1 torchvision==0.29.1' in out, out[-4000:]
        # The regression's state is reproduced: resolving torch's requirements upgraded the new venv's setuptools
        # to a release without pkg_resources, and the next step repaired it.
        found = re.search(r'setuptools (\d+)\.[\d.]+ found; installing setuptools>=77.0.3,<82', out)
        assert found and int(found.group(1)) >= 82, out[-4000:]
        assert "mmcv metadata step ok; compile skipped" in out, out[-4000:]
        assert 'FAILED' not in out
        check = subprocess.run([
            str(venv / 'bin' / 'python'), '-c', 'import pkg_resources, setuptools, wheel, ninja, torch, torchvision; '
            'from importlib import metadata; print(setuptools.__version__, metadata.version("torch"), torch.__file__)'
        ],
                               capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr
        version, torch_version, torch_file = check.stdout.split()
        major, minor, patch = (int(x) for x in version.split('.')[:3])
        assert (77, 0, 3) <= (major, minor, patch) < (82, ), check.stdout
        assert torch_version == '2.14.1' and torch_file.startswith(str(tmp_path / 'linked')), check.stdout
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
