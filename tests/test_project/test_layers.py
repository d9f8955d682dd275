"""The package reads top to bottom: experiments -> apis -> engine -> models, datasets, evaluation -> utils.

Checked on the source (every ``import`` statement, function-local ones included) and on a fresh interpreter
(what importing a log reader actually loads)."""
import ast
import os
import os.path as osp
import subprocess
import sys

from helpers import REPO

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
    'experiments': {'utils', 'apis'},  # drivers run tools/*.py; they reach the stack through apis alone
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


# mcl_mm/experiments has an order of its own: infrastructure (jobs, report, world), what the drivers share
# (common), the drivers (demo, study, transfer_study), and what builds on one driver (demo_selfsup on the demo's
# plan, transfer_calibration on the transfer study's jobs).
EXPERIMENTS_ORDER = {
    'jobs': set(),
    'report': set(),
    'world': set(),
    'common': {'jobs', 'world'},
    'demo': {'common', 'jobs', 'report'},
    'study': {'common', 'jobs', 'report', 'world'},
    'transfer_study': {'common', 'jobs', 'report'},
    'demo_selfsup': {'common', 'demo', 'jobs', 'report'},
    'transfer_calibration': {'common', 'jobs', 'report', 'transfer_study'},
}


def _experiment_imports(path: str):
    """The sibling modules of mcl_mm/experiments one of them imports (absolute and relative, local ones too)."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ''
            if node.level == 1:
                yield name.split('.')[0] if name else ''
            elif node.level == 0 and name.startswith('mcl_mm.experiments.'):
                yield name.split('.')[2]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('mcl_mm.experiments.'):
                    yield alias.name.split('.')[2]


def test_experiments_read_top_to_bottom():
    folder = osp.join(PACKAGE, 'experiments')
    modules = {name[:-3] for name in os.listdir(folder) if name.endswith('.py') and name != '__init__.py'}
    assert modules == set(EXPERIMENTS_ORDER), f'give {modules ^ set(EXPERIMENTS_ORDER)} a place in EXPERIMENTS_ORDER'
    found = {}
    for module in modules:
        imported = set(_experiment_imports(osp.join(folder, module + '.py'))) - {module}
        if imported - EXPERIMENTS_ORDER[module]:
            found[module] = imported - EXPERIMENTS_ORDER[module]
    assert not found, f'imports against the order of mcl_mm/experiments: {found}'


def test_the_experiments_order_check_sees_a_violation(tmp_path):
    bad = tmp_path / 'mod.py'
    bad.write_text('from .jobs import Job\n\n\ndef f():\n    from mcl_mm.experiments.demo import plan\n'
                   '    import mcl_mm.experiments.study\n')
    assert list(_experiment_imports(str(bad))) == ['jobs', 'demo', 'study']
