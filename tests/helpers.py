"""What the tests share besides fixtures: the repository root, running a tool as a user would, and the small
cohort config most training tests write (``from helpers import run_tool``; tests/ is on pytest's pythonpath)."""
import os
import os.path as osp
import subprocess
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest-xdist workers share the cores: one intra-op thread each, for the tests and the tool runs they start
    # (tools/demo.py and tools/study.py set their jobs' threads themselves).
    os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = '1'


def _zygote_run(zygote, argv, cwd, env, timeout):
    with tempfile.NamedTemporaryFile(prefix='tool-', suffix='.log', delete=False) as handle:
        log = handle.name
    pid = zygote.start(argv, cwd, env, log)
    try:
        code = zygote.wait(pid, timeout)
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(argv, timeout, output=open(log, errors='replace').read()) from None
    output = open(log, errors='replace').read()
    os.remove(log)
    return code, output


_ZYGOTE = None


def run_tool(script, *args, timeout=900, expect_ok=True, env=None, cwd=REPO):
    """Run tools/<script> as a fresh process (a forked child of the zygote, see mcl_mm/utils/zygote.py;
    MCL_MM_TEST_NO_ZYGOTE=1 starts a new interpreter instead). Returns (exit code, stdout + stderr)."""
    global _ZYGOTE
    cmd = [osp.join(REPO, 'tools', script), *map(str, args)]
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    if os.environ.get('MCL_MM_TEST_NO_ZYGOTE') == '1':
        proc = subprocess.run([sys.executable, *cmd],
                              cwd=cwd,
                              capture_output=True,
                              text=True,
                              timeout=timeout,
                              env=full_env)
        code, output = proc.returncode, proc.stdout + proc.stderr
    else:
        if _ZYGOTE is None or not _ZYGOTE.alive():
            from mcl_mm.utils.zygote import Zygote
            _ZYGOTE = Zygote(tempfile.NamedTemporaryFile(prefix='tool-zygote-', suffix='.log', delete=False).name)
        code, output = _zygote_run(_ZYGOTE, cmd, cwd, full_env, timeout)
    if expect_ok and code != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({code}):\n{output[-6000:]}')
    return code, output


BANK = 'memory=dict(num_samples=32, neg_k=16)'
# The generated image folder's loaders as config text (the config around it sets data_root and the pipelines).
FOLDER_LOADERS = """train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline,
                 _delete_=True))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='val', pipeline=test_pipeline,
                 _delete_=True))
test_dataloader = val_dataloader
"""
# A small MCL config on the generated image folder; {model_extra} holds the memory settings (or memory=None).
COHORT_TEST_CONFIG = """
_base_ = '{base}'
data_root = '{root}'
model = dict(members=dict(head=dict(num_classes=4, topk=(1, ))), {model_extra})
data_preprocessor = dict(num_classes=4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
""" + FOLDER_LOADERS + """val_evaluator = dict(topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs={epochs}, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
"""
