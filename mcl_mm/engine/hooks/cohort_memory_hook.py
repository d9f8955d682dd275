"""Fills the memory bank's label table from the training set and checks it matches."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mcl_mm.datasets.utils import dataset_labels
from mcl_mm.registry import HOOKS
from mcl_mm.utils.errors import ConfigError, DataError


@HOOKS.register_module()
class CohortMemoryHook(Hook):
    """Before training: fill the bank's label table from the training set (or, after a resume, check that
    the restored table matches it) and fail clearly when the bank size differs from the dataset size."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        memory = getattr(model, 'memory', None)
        if memory is None:
            raise ConfigError('CohortMemoryHook is configured but the model has no memory bank '
                              '(model.memory=None): remove the hook or configure model.memory')
        labels = dataset_labels(runner.train_dataloader.dataset)
        if memory.is_labelled:
            if len(labels) != memory.num_samples or not torch.equal(memory.labels.cpu(), torch.from_numpy(labels)):
                raise DataError('the memory bank restored from the checkpoint was built for a different '
                                'training set (its label table differs from the dataset): resume with the '
                                'same data, or start a new run')
            runner.logger.info(f'memory bank: label table restored ({memory.num_samples} samples)')
            return
        memory.set_labels(labels)
        runner.logger.info(f'memory bank: {memory.num_members} x {memory.num_samples} x {memory.feat_dim} '
                           f'({memory.banks.dtype}), label table filled from the training set')
