"""The package reads top to bottom: apis / experiments -> engine -> models, datasets, evaluation -> utils.

Checked on the source (every ``import`` statement, function-local ones included) and on a fresh interpreter
(what importing a log reader actually loads)."""
import ast
import os
import os.path as osp
import subprocess
import sys

from conftest import REPO

PACKAGE = osp.join(REPO, 'mcl_mm')
# subpackage -> the mcl_mm subpackages it may import (besides itself, mcl_mm.registry and mcl_mm.version)
ALLOWED = {
    'utils': set(),
    'models': {'utils'},
    'datasets': {'utils'},
    'evaluation': {'utils'},
    'visualization': {'utils'},
    # exactly the imports that exist: nothing above reaches into evaluation/ (the runner builds metrics by name)
    'engine': {'utils', 'models', 'datasets'},
    'apis': {'utils', 'engine', 'models', 'datasets'},
    'experiments': {'utils', 'apis', 'engine', 'models', 'datasets'},
}


def _imported_subpackages(path: str, own: str, package_path=None):
    """(line, subpackage) of every mcl_mm import in a module, relative imports resolved against its folder
    (``package_path``: as if it lay there)."""
    tree = ast.parse(open(path).read(), path)
    relative_base = osp.relpath(package_path or osp.dirname(path), REPO).split(os.sep)  # ['mcl_mm', 'models']
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = relative_base[:len(relative_base) - node.level + 1]
                names = ['.'.join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or '']
        for name in names:
            parts = name.split('.')
            if parts[0] == 'mcl_mm' and len(parts) > 1 and parts[1] not in ('registry', 'version', own):
                yield node.lineno, parts[1]


def test_each_subpackage_imports_only_the_layers_below_it():
    found = {}
    for sub in sorted(os.listdir(PACKAGE)):
        folder = osp.join(PACKAGE, sub)
        if not osp.isdir(folder) or sub.startswith(('.', '_')):
            continue
        assert sub in ALLOWED, f'mcl_mm/{sub} has no place in the layer table of this test'
        for root, _, files in os.walk(folder):
            for name in files:
                if name.endswith('.py'):
                    path = osp.join(root, name)
                    for line, target in _imported_subpackages(path, sub):
                        if target not in ALLOWED[sub]:
                            found.setdefault(osp.relpath(path, REPO), []).append((line, target))
    assert not found, f'imports against the layering: {found}'


def test_the_layer_check_sees_a_violation(tmp_path):
    bad = tmp_path / 'mod.py'
    bad.write_text('import os\n\n\ndef f():\n    from mcl_mm.apis import runner\n    from ..engine import x\n')
    found = list(_imported_subpackages(str(bad), 'utils', package_path=osp.join(PACKAGE, 'utils')))
    assert found == [(5, 'apis'), (6, 'engine')]


def test_log_readers_and_collectors_load_no_model_stack():
    """A results collector or curve plotter must start in a fraction of a second: no torch, no Runner, no model."""
    code = ('import sys\n'
            f'sys.path.insert(0, {osp.join(REPO, "tools", "analysis_tools")!r})\n'
            'import collect_pretrain, collect_transfer, plot_curves\n'
            'import mcl_mm.utils, mcl_mm.utils.logs, mcl_mm.utils.cli, mcl_mm.utils.safe_config\n'
            'import mcl_mm.experiments.report, mcl_mm.experiments.jobs, mcl_mm.experiments.world\n'
            'heavy = ("torch", "mmengine.runner", "mmpretrain", "mmdet", "mmseg", "mcl_mm.models", "mcl_mm.engine",\n'
            '         "mcl_mm.apis", "mcl_mm.datasets", "matplotlib")\n'
            'print(sorted(m for m in sys.modules if m.startswith(heavy)))\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == '[]', out
