"""Faults a long cohort run meets: each injected, each ends in one clear error or a safe recovery."""
import os
import os.path as osp

import pytest
import torch
from helpers import BANK, COHORT_TEST_CONFIG, REPO, run_tool

from mcl_mm.engine.atomic_io import AtomicLocalBackend, atomic_write_bytes, repair_last_checkpoint
from mcl_mm.engine.runtime import install_runtime_patches

MCL_BASE = osp.join(REPO, 'configs/mcl/mcl_resnet18x2_8xb32-100e_in1k.py')


def _cfg(tmp_path, root, extra='', epochs=1, name='cfg.py'):
    path = tmp_path / name
    path.write_text(COHORT_TEST_CONFIG.format(base=MCL_BASE, root=root, epochs=epochs, model_extra=BANK) + extra)
    return path


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old complete file')

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # a kill in the middle of the write

    monkeypatch.setattr(os, 'fsync', boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(b'new' * 1000, str(target))
    assert target.read_bytes() == b'old complete file'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # the temporary file was removed


def test_mmengine_local_backend_is_atomic():
    from mmengine.fileio import get_file_backend
    install_runtime_patches()  # what build_runner and StrictPretrainedHook call
    assert isinstance(get_file_backend('/tmp/some/checkpoint.pth'), AtomicLocalBackend)


def test_repair_last_checkpoint_skips_incomplete_files(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    torch.save({'w': torch.ones(1)}, good)
    bad = tmp_path / 'epoch_2.pth'
    bad.write_bytes(b'PK\x03\x04 truncated')
    (tmp_path / 'last_checkpoint').write_text(str(bad))
    assert repair_last_checkpoint(str(tmp_path)) == str(good)
    assert (tmp_path / 'last_checkpoint').read_text() == str(good)
    (tmp_path / 'last_checkpoint').write_text('')  # a pointer cut off mid-write
    assert repair_last_checkpoint(str(tmp_path)) == str(good)
    assert repair_last_checkpoint(str(tmp_path / 'nothing_here')) is None


@pytest.mark.slow
def test_nan_loss_stops_naming_iteration_and_term(tmp_path, cls_data):
    # A learning rate of 1e12 drives the losses to Inf/NaN within a few iterations.
    cfg = _cfg(tmp_path, cls_data['root'], "\noptim_wrapper = dict(optimizer=dict(lr=1e12))\n", epochs=3)
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'work', expect_ok=False)
    assert code != 0
    assert 'non-finite loss:' in out and 'at iteration' in out and 'continue with --resume' in out
    assert not any(f.startswith('epoch_') for f in os.listdir(tmp_path / 'work'))  # nothing diverged was saved


@pytest.mark.slow
def test_class_count_mismatch_and_empty_data_are_clear_errors(tmp_path, cls_data):
    cfg = _cfg(tmp_path, cls_data['root'], "\nmodel = dict(members=dict(head=dict(num_classes=7)))\n")
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'w1', expect_ok=False)
    assert code != 0 and 'the training set has 4 classes but member 0 classifies 7' in out
    empty = tmp_path / 'empty'
    (empty / 'train').mkdir(parents=True)
    (empty / 'val').mkdir()
    cfg = _cfg(tmp_path, str(empty), name='empty.py')
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'w2', expect_ok=False)
    assert code != 0 and ('empty' in out.lower() or 'No such file' in out or 'no valid' in out.lower())


@pytest.mark.slow
def test_missing_dataset_path_is_a_clear_error(tmp_path):
    cfg = _cfg(tmp_path, str(tmp_path / 'does_not_exist'))
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'w', expect_ok=False)
    assert code != 0 and 'does_not_exist' in out


@pytest.mark.slow
def test_resume_auto_survives_a_truncated_newest_checkpoint(tmp_path, cls_data):
    cfg = _cfg(tmp_path, cls_data['root'], epochs=2)
    work = tmp_path / 'work'
    run_tool('train.py', cfg, '--work-dir', work)
    # Simulate a kill during the last save of a run without atomic writes: epoch_2 cut in half.
    data = (work / 'epoch_2.pth').read_bytes()
    (work / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
    _, out = run_tool('train.py', cfg, '--work-dir', work, '--resume')
    assert 'resuming from' in out and 'epoch_1.pth' in out
    assert 'resumed epoch: 1' in out
    state = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert state['meta']['epoch'] == 2 and int(state['state_dict']['memory.num_updates']) == 8


def test_undecodable_image_fails_clearly_or_is_skipped_and_counted(tmp_path, cls_data):
    import shutil

    from mmengine.registry import init_default_scope
    from mmpretrain.datasets import CustomDataset
    init_default_scope('mcl_mm')
    root = tmp_path / 'data'
    shutil.copytree(cls_data['root'], root)
    bad = sorted((root / 'train').glob('*/*.png'))[0]
    bad.write_bytes(b'this is not a png')

    def dataset(policy):
        return CustomDataset(
            data_root=str(root),
            data_prefix='train',
            pipeline=[dict(type='LoadImageFromFileChecked', on_error=policy),
                      dict(type='PackInputs')])

    strict = dataset('fail')
    index = [i for i in range(len(strict)) if strict.get_data_info(i)['img_path'] == str(bad)][0]
    with pytest.raises(ValueError, match=f"cannot load image {bad}.*on_error='skip'"):
        strict[index]
    lenient = dataset('skip')
    loader = lenient.pipeline.transforms[0]
    sample = lenient[index]  # served another image instead
    assert sample['data_samples'].img_path != str(bad)
    # Counted (and logged as a warning). mmengine refetches a *random* index, which can be the bad file again
    # (1 in 32 here): every failed attempt counts, so at least one per request of the bad file.
    first = loader.skipped
    assert first >= 1
    lenient[index]
    assert loader.skipped >= first + 1


RANK_HOOK = '''
import os, signal
from mmengine.hooks import Hook
from mmengine.dist import get_rank, get_world_size
from mcl_mm.registry import HOOKS

@HOOKS.register_module()
class RecordRankIterations(Hook):
    """Appends '<world size> <iteration>' to $RANK_LOG_DIR/rank<r> after every training iteration of rank r; with
    die_at, rank 1 SIGKILLs itself after that iteration."""
    def __init__(self, die_at=None):
        self.die_at = die_at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        with open(os.path.join(os.environ['RANK_LOG_DIR'], f'rank{get_rank()}'), 'a') as f:
            f.write(f'{get_world_size()} {runner.iter}\\n')
        if self.die_at is not None and get_rank() == 1 and runner.iter == self.die_at:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def _dist_train(tmp_path, cls_data, hook_args, epochs, launcher_args=()):
    """tools/dist_train.sh CFG 2 on this CPU-only host (gloo), each rank recording its iterations."""
    import subprocess
    (tmp_path / 'rank_hook.py').write_text(RANK_HOOK)
    (tmp_path / 'ranks').mkdir()
    cfg = _cfg(
        tmp_path,
        cls_data['root'], "\ncustom_imports = dict(imports=['rank_hook'], allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='CohortMemoryHook'), dict(type='RecordRankIterations', {hook_args})]\n"
        "train_dataloader.update(batch_size=4)\n",
        epochs=epochs)
    env = dict(
        os.environ,
        PYTHONPATH=f'{tmp_path}:{REPO}',
        PORT=str(29500 + os.getpid() % 1000),
        RANK_LOG_DIR=str(tmp_path / 'ranks'),
        CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run([
        'bash',
        osp.join(REPO, 'tools', 'dist_train.sh'),
        str(cfg), '2', '--work-dir',
        str(tmp_path / 'work'), *launcher_args
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    ranks = {}
    for rank in (0, 1):
        path = tmp_path / 'ranks' / f'rank{rank}'
        ranks[rank] = [tuple(map(int, line.split())) for line in path.read_text().splitlines()] if path.exists() else []
    return proc.returncode, proc.stdout + proc.stderr, ranks


@pytest.mark.slow
def test_cpu_ddp_through_the_shipped_launcher_trains_on_both_ranks(tmp_path, cls_data):
    """tools/dist_train.sh CFG 2 on a host without CUDA: two gloo ranks train every iteration of the epoch (16
    images per rank, batch 4) and rank 0 writes the checkpoint."""
    code, out, ranks = _dist_train(tmp_path, cls_data, '', epochs=1)
    assert code == 0, out[-4000:]
    assert 'gloo' in out
    for rank in (0, 1):
        assert ranks[rank] == [(2, i) for i in range(4)], (rank, ranks, out[-3000:])
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


@pytest.mark.slow
def test_a_dead_rank_ends_the_job_with_an_error(tmp_path, cls_data):
    """2 gloo processes through tools/dist_train.sh; both train, then rank 1 is SIGKILLed after its 4th iteration:
    the job exits non-zero, it does not hang."""
    import time
    start = time.time()
    code, out, ranks = _dist_train(tmp_path, cls_data, 'die_at=3', epochs=3)
    assert code != 0, out[-3000:]
    assert time.time() - start < 300
    # Both ranks trained (in a world of 2) before the kill; rank 1 stopped after its 4th iteration (runner.iter 3).
    assert ranks[0][:3] == [(2, 0), (2, 1), (2, 2)] and ranks[1] == [(2, i) for i in range(4)], (ranks, out[-3000:])
    assert 'Signal 9' in out or 'SIGKILL' in out or 'exitcode' in out, out[-3000:]


@pytest.mark.parametrize('launcher, missing', [('pytorch', 'RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT'),
                                               ('slurm', 'SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST'),
                                               ('mpi', 'OMPI_COMM_WORLD_LOCAL_RANK')])
def test_a_launcher_flag_without_its_environment_is_one_line(tmp_path, launcher, missing):
    env = {
        k: ''
        for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST',
                  'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE')
    }
    for tool in ('train.py', 'test.py'):
        args = ('cfg.py', 'ckpt.pth') if tool == 'test.py' else ('cfg.py', )
        code, out = run_tool(tool, *args, '--launcher', launcher, expect_ok=False, env=env, cwd=str(tmp_path))
        assert code != 0 and 'Traceback' not in out, out
        assert f'--launcher {launcher}' in out and missing in out, out


@pytest.mark.slow
def test_a_member_left_at_chance_is_noticed(tmp_path, cls_data):
    """lr 0: no member can leave chance and no CE moves. On by default (a loud warning naming the member after the
    warm-up); action='stop' ends the run in one line. 4 classes: chance is 25 %."""
    options = ['optim_wrapper.optimizer.lr=0.0', 'param_scheduler=[]', 'default_hooks.chance_guard.after_epoch=1']
    cfg = _cfg(tmp_path, cls_data['root'], epochs=2)
    _, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'warn', '--cfg-options', *options)
    assert 'member 0 is still at chance after epoch 1' in out and 'member 1 is still at chance' in out, out[-3000:]
    assert (tmp_path / 'warn' / 'epoch_2.pth').is_file()  # a warning: the run goes on
    stop = [*options, 'default_hooks.chance_guard.action=stop']
    code, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'stop', '--cfg-options', *stop, expect_ok=False)
    assert code != 0 and 'Traceback' not in out and 'still at chance after epoch 1' in out, out[-3000:]
    assert not (tmp_path / 'stop' / 'epoch_2.pth').exists()
