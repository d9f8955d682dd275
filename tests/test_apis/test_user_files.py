"""Files a user hands the tools, or keeps beside them: nothing in them runs, nothing of theirs is replaced.

Mechanisms are tested in-process (cheap); each user-facing path runs the real tool once.
"""
import argparse
import errno
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
import torch
from helpers import BANK, COHORT_TEST_CONFIG, REPO, run_tool

from mcl_mm.apis.cohort_checkpoint import load_cohort_checkpoint
from mcl_mm.apis.runner import lock_work_dir
from mcl_mm.engine.atomic_io import atomic_write_files, repair_last_checkpoint
from mcl_mm.engine.checkpoint import (UNSAFE_FLAG, CheckpointLoadError, allow_full_unpickling, check_resumable,
                                      load_checkpoint_file)
from mcl_mm.engine.runtime import DUMP_MARK
from mcl_mm.utils.arguments import CfgOptionsAction
from mcl_mm.utils.errors import CohortCheckpointError, UnsafeConfigError, WorkDirBusyError
from mcl_mm.utils.safe_config import MAX_CONFIG_TEXT, config_from_data_text

MCL_BASE = osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py')


class _Payload:
    """Unpickling it creates ``marker``: the stand-in for code a hostile checkpoint runs."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, 'w')


def _one_line_failure(code, out, *needles):
    assert code != 0, out
    assert 'Traceback' not in out, out[-3000:]
    for needle in needles:
        assert needle in out, (needle, out[-3000:])


def _with_payload(cohort_checkpoint, path, marker):
    ckpt = torch.load(cohort_checkpoint, map_location='cpu', weights_only=False)
    ckpt['meta']['note'] = _Payload(marker)
    torch.save(ckpt, path)
    return path


# ------------------------------------------------------------------------------ code in a checkpoint
def test_full_unpickling_needs_the_explicit_opt_in_wherever_the_file_lies(tmp_path):
    marker = tmp_path / 'ran'
    for folder in ('downloads', 'work_dirs/run'):  # a run's own work_dir is no longer a reason to trust a file
        path = tmp_path / folder / 'epoch_1.pth'
        path.parent.mkdir(parents=True)
        torch.save({'state_dict': {'w': torch.zeros(1)}, 'note': _Payload(marker)}, path)
        with pytest.raises(CheckpointLoadError, match=UNSAFE_FLAG):
            load_checkpoint_file(str(path))
        assert not marker.exists()
    try:
        allow_full_unpickling(True)
        load_checkpoint_file(str(path))
        assert marker.exists()  # the opt-in does what it says, risk included
    finally:
        allow_full_unpickling(False)


@pytest.mark.slow
def test_a_checkpoint_copied_into_a_work_dir_or_resumed_runs_no_code(tmp_path, cohort_checkpoint, cls_data):
    """README's pattern `tools/test.py CFG work_dirs/<cfg>/x.pth` and resuming a copied work_dir: the file is
    loaded weights-only, so its payload is refused; our own checkpoints resume without any flag (the resume
    tests in test_train_tools / test_reliability)."""
    cfg = tmp_path / 'mcl.py'
    cfg.write_text(COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=2, model_extra=BANK))
    marker = tmp_path / 'ran'
    default_work_dir = tmp_path / 'work_dirs' / 'mcl'
    default_work_dir.mkdir(parents=True)
    evil = _with_payload(cohort_checkpoint, default_work_dir / 'x.pth', marker)
    code, out = run_tool('test.py', cfg, evil, expect_ok=False, cwd=str(tmp_path))
    _one_line_failure(code, out, UNSAFE_FLAG)
    assert not marker.exists()

    mine = tmp_path / 'mine'  # `cp -r their_run mine; train.py CFG --work-dir mine --resume`
    mine.mkdir()
    _with_payload(cohort_checkpoint, mine / 'epoch_1.pth', marker)
    (mine / 'last_checkpoint').write_text(str(mine / 'epoch_1.pth'))
    code, out = run_tool('train.py', cfg, '--work-dir', mine, '--resume', expect_ok=False)
    _one_line_failure(code, out, UNSAFE_FLAG)
    assert not marker.exists() and not (mine / 'epoch_2.pth').exists()

    _, out = run_tool('test.py', cfg, evil, UNSAFE_FLAG, cwd=str(tmp_path))
    assert marker.exists() and 'cohort/ensemble/top1' in out  # the explicit opt-in loads it


def test_a_stored_config_is_capped_and_must_be_text(tmp_path):
    huge = 'a = "' + 'x' * (MAX_CONFIG_TEXT + 1) + '"\n'
    with pytest.raises(UnsafeConfigError, match='KiB'):
        config_from_data_text(huge)
    with pytest.raises(UnsafeConfigError, match='not config text'):
        config_from_data_text(12)

    def saved(name, meta):
        path = tmp_path / name
        torch.save({'state_dict': {'members.0.backbone.w': torch.zeros(1)}, 'meta': meta}, path)
        return str(path)

    cases = [(saved('list_meta.pth', ['x']), 'not the dict'), (saved('int_cfg.pth', dict(cfg=3)), 'not config text'),
             (saved('no_model.pth', dict(cfg='a = 1')), 'no usable model.members'),
             (saved('bad_members.pth', dict(cfg='model = dict(members=[1, 2])')), 'no usable model.members'),
             (saved('huge.pth', dict(cfg=huge)), 'KiB')]
    for path, needle in cases:
        with pytest.raises(CohortCheckpointError, match=needle):
            load_cohort_checkpoint(path)
    from mcl_mm.apis.export import verify_backbone
    for crafted in (dict(type='ResNet',
                         depth='abc'), dict(type='NoSuchBackbone'), dict(type='ResNet', depth=18, out_indices=[9])):
        with pytest.raises(CohortCheckpointError, match='cannot be built'):
            verify_backbone({}, crafted)


# ----------------------------------------------------------------------------------------- lost work
@pytest.mark.slow
def test_a_config_kept_in_the_work_dir_is_never_replaced(tmp_path, cls_data):
    work = tmp_path / 'work'
    work.mkdir()
    cfg = work / 'mcl.py'  # the user's own config, kept with the run
    text = COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=1, model_extra=BANK)
    cfg.write_text(text)
    run_tool('train.py', cfg, '--work-dir', work)
    assert cfg.read_text() == text
    dumps = [osp.join(d, 'mcl.py') for d in os.listdir(work) if osp.isfile(work / d / 'mcl.py')]
    assert len(dumps) == 1 and (work / dumps[0]).read_text().startswith(DUMP_MARK)

    checkpoint = work / 'model.pkl'  # a checkpoint under a name --out accepts
    checkpoint.write_bytes((work / 'epoch_1.pth').read_bytes())
    before = checkpoint.read_bytes()
    for item in ('pred', 'metrics'):  # --out onto an input: refused before the evaluation
        code, output = run_tool(
            'test.py', cfg, checkpoint, '--work-dir', work, '--out', checkpoint, '--out-item', item, expect_ok=False)
        _one_line_failure(code, output, 'is the input')
    code, output = run_tool('test.py', cfg, checkpoint, '--out', tmp_path / 'no' / 'such' / 'p.pkl', expect_ok=False)
    _one_line_failure(code, output, 'does not exist')
    run_tool('test.py', cfg, checkpoint, '--work-dir', work)
    assert cfg.read_text() == text and checkpoint.read_bytes() == before


def _hold_lock(work_dir):
    script = ('import sys, time; from mcl_mm.apis.runner import lock_work_dir; lock_work_dir(sys.argv[1]); '
              'print("locked", flush=True); time.sleep(120)')
    proc = subprocess.Popen([sys.executable, '-c', script, str(work_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def test_two_training_runs_cannot_share_a_work_dir(tmp_path):
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(WorkDirBusyError, match=f'pid {holder.pid}'):
            lock_work_dir(str(tmp_path))
        code, out = run_tool(
            'train.py',
            osp.join(REPO, 'configs/demo/mcl_resnet18w16x2_1xb32-15e_digits.py'),
            '--work-dir',
            tmp_path,
            expect_ok=False)
        _one_line_failure(code, out, 'in use by a running training job')
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    lock_work_dir(str(tmp_path))  # the lock dies with its process, however it ended


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: writes past it fail with ENOSPC as on a full disk (needs root, as CI runs)."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.fail(f'mounting a tmpfs failed ({proc.stderr.decode().strip()}): this test needs root; deselect it '
                    'with -m "not root"')
    yield mount
    subprocess.run(['umount', '-l', str(mount)], check=True)


@pytest.mark.root
def test_files_written_together_appear_together_or_not_at_all(small_disk):
    contents = {
        str(small_disk / 'm.pth'): b'w' * 100_000,
        str(small_disk / 'm.py'): b'c' * 1000,
        str(small_disk / 'm.json'): b'j' * 400_000
    }
    with pytest.raises(OSError) as err:
        atomic_write_files(contents)
    assert err.value.errno == errno.ENOSPC
    assert os.listdir(small_disk) == []  # no .pth + .py without .json, no temporary file
    contents[str(small_disk / 'm.json')] = b'j' * 1000
    atomic_write_files(contents)  # the re-run starts from the same state and completes
    assert sorted(os.listdir(small_disk)) == ['m.json', 'm.pth', 'm.py']


@pytest.mark.root
@pytest.mark.slow
def test_publishing_onto_a_full_disk_writes_nothing_and_says_so(small_disk, cohort_checkpoint):
    code, out = run_tool('model_converters/publish_model.py', cohort_checkpoint, small_disk / 'member', expect_ok=False)
    _one_line_failure(code, out, 'no space left')
    assert os.listdir(small_disk) == []


@pytest.mark.root
@pytest.mark.slow
def test_a_disk_that_fills_during_training_ends_in_one_line(small_disk, cls_data, tmp_path):
    """The logs fit in the 256 KiB tmpfs, the first checkpoint does not: one line, no partial checkpoint."""
    cfg = tmp_path / 'mcl.py'
    cfg.write_text(COHORT_TEST_CONFIG.format(base=MCL_BASE, root=cls_data['root'], epochs=1, model_extra=BANK))
    code, out = run_tool('train.py', cfg, '--work-dir', small_disk / 'run', expect_ok=False)
    _one_line_failure(code, out, 'no space left on the device')
    assert not [f for f in os.listdir(small_disk / 'run') if f.endswith('.pth') or f.startswith('.tmp-')]


@pytest.mark.root
def test_a_read_only_destination_is_refused_before_any_work(small_disk):
    import importlib.util  # tools/test.py (its name is the standard library's `test` package's)
    spec = importlib.util.spec_from_file_location('test_tool', osp.join(REPO, 'tools', 'test.py'))
    test_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_tool)

    from mcl_mm.apis.runner import check_work_dir
    from mcl_mm.utils.errors import ToolInputError
    subprocess.run(['mount', '-o', 'remount,ro', str(small_disk)], check=True)
    with pytest.raises(ToolInputError, match='is not writable'):
        test_tool.check_out_file(str(small_disk / 'preds.pkl'), inputs=())
    with pytest.raises(ToolInputError, match='cannot be created'):
        check_work_dir(str(small_disk / 'run'))


def test_resume_never_picks_an_exported_model(tmp_path):
    training = tmp_path / 'epoch_1.pth'
    # What mmengine writes with save_optimizer=False (no optimizer): still a resume point.
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'epoch': 1}, 'message_hub': {}}, training)
    time.sleep(0.01)
    exported = tmp_path / 'member0.pth'  # newer, but an export the user wrote into the work_dir
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'epoch': 1}}, exported)
    assert repair_last_checkpoint(str(tmp_path)) == str(training)
    (tmp_path / 'last_checkpoint').write_text(str(exported))
    assert repair_last_checkpoint(str(tmp_path)) == str(training)
    check_resumable(str(training))
    with pytest.raises(CheckpointLoadError, match='not a training checkpoint'):
        check_resumable(str(exported))


# ------------------------------------------------------------------------------ silent wrong answers
def _parse(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


def test_cfg_options_keep_spaces_and_parse_like_mmengine_otherwise():
    from mmengine.config import DictAction
    assert DictAction._parse_iterable('/data/my runs/x.pth') == '/data/myruns/x.pth'  # why this parser exists
    options = _parse('data_root=/data/my runs', 'ckpt="/a b/c.pth"', 'model.loss.tau=0.1', 'flag=True', 'none=None',
                     'ids=[1, 2, (3, 4)]', 'pair=(a, b)', 'csv=1,2', 'word=abc')
    assert options == {
        'data_root': '/data/my runs',
        'ckpt': '/a b/c.pth',
        'model.loss.tau': 0.1,
        'flag': True,
        'none': None,
        'ids': [1, 2, (3, 4)],
        'pair': ('a', 'b'),
        'csv': [1, 2],
        'word': 'abc'
    }
    assert options['model.loss.tau'] == DictAction._parse_iterable('0.1')
    assert _parse('x=[[1,2],[3]]')['x'] == DictAction._parse_iterable('[[1,2],[3]]')
    quoted = _parse("classes='cat','dog'", "names=['a,b', c]", "tag='run(1'", 'lr=1e-4', 'x=-2')
    assert quoted == {'classes': ['cat', 'dog'], 'names': ['a,b', 'c'], 'tag': 'run(1', 'lr': 1e-4, 'x': -2}
    assert quoted['classes'] == DictAction._parse_iterable("'cat','dog'")
    with pytest.raises(SystemExit):
        _parse('x=[1, 2')
