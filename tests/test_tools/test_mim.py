"""`mim` drives mcl_mm like any OpenMMLab codebase: train / test a config found by name, run a tool, and a
model index that lists every config. Real openmim, real runs (no mocks)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import yaml
from helpers import REPO

pytestmark = pytest.mark.slow

MIM = osp.join(osp.dirname(sys.executable), 'mim')
CONFIG_NAME = 'independent_resnet18w16x2_1xb32-15e_digits.py'  # found by mim inside mcl_mm/.mim/configs


def mim(*args, cwd):
    proc = subprocess.run([MIM, *map(str, args)],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=900,
                          env=dict(os.environ, PYTHONUNBUFFERED='1'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'mim {" ".join(map(str, args))} failed ({proc.returncode}):\n{out[-5000:]}'
    return out


@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    from mcl_mm.experiments.world import make_digit_classification_folder
    root = tmp_path_factory.mktemp('digits_cls')
    make_digit_classification_folder(str(root), train_per_class=3, val_per_class=2, image_size=32, seed=0)
    return str(root)


def test_mim_trains_tests_and_runs_tools_from_a_config_name(tmp_path, digits):
    # From a directory outside the checkout: mim resolves the codebase, the config and the scripts itself.
    work = tmp_path / 'work'
    options = [
        '--cfg-options', f'data_root={digits}', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=10', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    out = mim('train', 'mcl_mm', CONFIG_NAME, '--work-dir', work, *options, cwd=tmp_path)
    found = osp.join('configs', 'demo', CONFIG_NAME)
    assert f'we find the config file in codebase mcl_mm, will use {osp.join(REPO, found)}' in out, out[-3000:]
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    out = mim(
        'test',
        'mcl_mm',
        CONFIG_NAME,
        '--checkpoint',
        ckpt,
        '--work-dir',
        tmp_path / 'test',
        *[o for o in options if not o.startswith('train_')],
        cwd=tmp_path)
    assert 'cohort/ensemble/top1' in out, out[-3000:]

    backbone = tmp_path / 'member1.pth'
    out = mim('run', 'mcl_mm', 'extract_backbone', ckpt, backbone, '--member', '1', cwd=tmp_path)
    weights = torch.load(backbone, weights_only=True)
    state = weights.get('state_dict', weights)
    trained = torch.load(ckpt, weights_only=False)['state_dict']
    assert torch.equal(state['conv1.weight'], trained['members.1.backbone.conv1.weight'])


def test_model_index_lists_every_algorithm_config():
    """Every MCL / L-MCL / DML / MoCo-MCL config is a model of the index mim reads (mcl_mm/.mim/model-index.yml)."""
    index = yaml.safe_load(open(osp.join(REPO, 'mcl_mm', '.mim', 'model-index.yml')))
    listed = set()
    for metafile in index['Import']:
        meta = yaml.safe_load(open(osp.join(REPO, 'mcl_mm', '.mim', metafile)))
        for model in meta['Models']:
            assert osp.isfile(osp.join(REPO, model['Config'])), model['Config']
            listed.add(model['Config'])
    expected = set()
    for algo in ('mcl', 'lmcl', 'dml', 'moco_mcl'):
        folder = osp.join(REPO, 'configs', algo)
        expected |= {f'configs/{algo}/{name}' for name in os.listdir(folder) if name.endswith('.py')}
    assert expected - listed == set(), sorted(expected - listed)


def test_mim_lists_the_codebase_models(tmp_path):
    out = mim('search', 'mcl_mm', '--field', 'config', cwd=tmp_path)
    assert 'mcl_resnet18x2_8xb32-100e_in1k' in out and 'lmcl-v2_resnet32x2_1xb128-300e_cifar100' in out, out[-3000:]


def test_a_built_wheel_carries_copies_and_leaves_the_checkout_links(tmp_path):
    import zipfile
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w',
         str(tmp_path), REPO],
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel, ) = tmp_path.glob('mcl_mm-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ('mcl_mm/.mim/model-index.yml', 'mcl_mm/.mim/tools/train.py', 'mcl_mm/.mim/configs/mcl/metafile.yml',
                   'mcl_mm/.mim/configs/_base_/default_runtime.py'):
        assert needed in names, needed
    for name in ('tools', 'configs', 'model-index.yml'):
        assert osp.islink(osp.join(REPO, 'mcl_mm', '.mim', name)), name
