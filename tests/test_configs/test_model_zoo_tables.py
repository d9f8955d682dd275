"""The configs READMEs carry a current model-zoo table: one row per metafile model, sizes from the built
members, the authors' accuracies marked as theirs."""
import os.path as osp
import subprocess
import sys

import pytest
import yaml
from helpers import REPO

pytestmark = pytest.mark.slow  # builds every MCL / L-MCL / DML model once


def test_readme_tables_are_current_and_complete():
    tool = osp.join(REPO, 'tools', 'analysis_tools', 'model_zoo_tables.py')
    proc = subprocess.run([sys.executable, tool, '--check'], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for algo in ('mcl', 'lmcl', 'dml', 'moco_mcl'):
        meta = yaml.safe_load(open(osp.join(REPO, 'configs', algo, 'metafile.yml')))
        text = open(osp.join(REPO, 'configs', algo, 'README.md')).read()
        block = text.split('<!-- model-zoo:begin -->')[1].split('<!-- model-zoo:end -->')[0]
        rows = [line for line in block.splitlines() if line.startswith('| [')]
        assert len(rows) == len(meta['Models']), algo
    mcl = open(osp.join(REPO, 'configs', 'mcl', 'README.md')).read()
    # torchvision's ResNet-18 has 11,689,512 parameters; a member is exactly that network.
    assert ('| [mcl_resnet18x2_8xb32-100e_in1k.py](mcl_resnet18x2_8xb32-100e_in1k.py) | 11.69 (×2) '
            '| 70.32 (best member, authors) |') in mcl


def test_a_stale_table_is_reported(tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    import model_zoo_tables
    with pytest.raises(SystemExit, match='no <!-- model-zoo:begin -->'):
        readme = tmp_path / 'README.md'
        readme.write_text('# nothing here\n')
        meta = tmp_path / 'metafile.yml'
        meta.write_text(yaml.safe_dump({'Collections': [{'Name': 'X', 'README': str(readme)}], 'Models': []}))
        model_zoo_tables.main([str(meta), '--check'])
