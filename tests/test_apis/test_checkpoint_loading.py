"""Checkpoint loading under torch >= 2.6: safe by default, full unpickling only for the run's own files."""
import collections

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mcl_mm.engine.checkpoint import CheckpointLoadError, allow_full_unpickling, load_checkpoint_file
from mcl_mm.engine.runtime import install_runtime_patches

# What build_runner (tools/train.py, tools/test.py) and StrictPretrainedHook call before any checkpoint IO.
install_runtime_patches()


class _Opaque:
    """Stands for an arbitrary pickled object that weights_only loading must refuse."""

    def __init__(self):
        self.payload = 1


def test_mmengine_uses_the_project_loader():
    assert CheckpointLoader._schemes[''] is load_checkpoint_file


def test_weights_only_file_loads_safely(tmp_path):
    path = tmp_path / 'weights.pth'
    torch.save({'conv.weight': torch.ones(2, 2)}, path)
    assert torch.equal(_load_checkpoint(str(path))['conv.weight'], torch.ones(2, 2))


def test_mmengine_training_checkpoint_objects_load_without_full_unpickling(tmp_path):
    """What mmengine puts in a checkpoint: HistoryBuffers, numpy arrays and scalars."""
    buffer = HistoryBuffer()
    buffer.update(1.5)
    ckpt = dict(
        meta=dict(epoch=1, iter=4, seed=np.int64(3), cfg='model = dict()'),
        state_dict=collections.OrderedDict(w=torch.zeros(3)),
        message_hub=dict(log_scalars={'train/loss': buffer}, runtime_info={'arr': np.arange(3)}))
    path = tmp_path / 'outside' / 'epoch_1.pth'
    path.parent.mkdir()
    torch.save(ckpt, path)
    loaded = load_checkpoint_file(str(path))
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert loaded['meta']['seed'] == 3


def test_arbitrary_objects_load_only_after_the_explicit_opt_in(tmp_path):
    torch.save({'state_dict': {}, 'extra': _Opaque()}, tmp_path / 'ckpt.pth')
    with pytest.raises(CheckpointLoadError, match='--unsafe-allow-pickle'):
        load_checkpoint_file(str(tmp_path / 'ckpt.pth'))
    try:
        allow_full_unpickling(True)
        assert load_checkpoint_file(str(tmp_path / 'ckpt.pth'))['extra'].payload == 1
    finally:
        allow_full_unpickling(False)


@pytest.mark.parametrize('damage', ['truncate', 'empty', 'garbage'])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, damage):
    path = tmp_path / 'bad.pth'
    torch.save({'w': torch.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes({'truncate': data[:len(data) // 2], 'empty': b'', 'garbage': b'not a checkpoint' * 10}[damage])
    with pytest.raises(CheckpointLoadError, match='(corrupt or truncated|empty)'):
        load_checkpoint_file(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
