"""Runs the L-MCL v2 meta step (docs/method.md §3) and owns the weight network's optimizer."""
import copy
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mcl_mm.models.utils.lookahead import sgd_hyperparams
from mcl_mm.registry import HOOKS, OPTIMIZERS

CHECKPOINT_KEY = 'lmcl_meta'


@HOOKS.register_module()
class LMCLMetaHook(Hook):
    """After the ordinary step of every batch whose index is a multiple of ``model.meta_freq``, call
    :meth:`LMCL.meta_step` on the same batch.

    The index is the batch's position in its epoch (mmengine's ``batch_idx``), as the authors' counter
    (``batch_idx % meta_freq == 0``): the first batch of every epoch gets a meta step. An iteration-based loop
    passes the global iteration as ``batch_idx``, so there the count runs over the whole training.

    The weight network has its own optimizer, built here and saved in every checkpoint under
    ``lmcl_meta`` (restored on resume). Its learning rate follows the network's schedule: at each meta
    step it is ``optimizer.lr`` times the network's current lr over its initial lr.

    Args:
        optimizer (dict): The weight network's optimizer config, with an ``lr`` (the authors: SGD, the
            network's lr, momentum 0.9, Nesterov, the network's weight decay).
    """

    priority = 'LOW'  # after the parameter schedulers' after_train_iter

    def __init__(self, optimizer: dict):
        self.optimizer_cfg = copy.deepcopy(optimizer)
        self.base_lr = float(optimizer['lr'])
        self.weight_optim: Optional[OptimWrapper] = None
        self._pending_state = None

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'mode', None) != 'v2' or not hasattr(model, 'meta_step'):
            raise TypeError(f'LMCLMetaHook needs an LMCL model with mode="v2", got {type(model).__name__} '
                            f'(mode={getattr(model, "mode", None)!r}); remove the hook or switch the model')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if isinstance(runner.optim_wrapper, OptimWrapperDict):
            raise TypeError('LMCLMetaHook: the network needs one optim_wrapper (the weight network has its own '
                            'optimizer in this hook)')
        sgd_hyperparams(runner.optim_wrapper.optimizer, [])  # the look-ahead mirrors SGD: fail now, not at iter 0
        optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=model.weight_net.parameters()))
        self.weight_optim = OptimWrapper(optimizer)
        if self._pending_state is not None:
            self.weight_optim.load_state_dict(self._pending_state)
            self._pending_state = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = self._model(runner)
        if batch_idx % model.meta_freq != 0:
            return
        network_optimizer = runner.optim_wrapper.optimizer
        group = network_optimizer.param_groups[0]
        initial = group.get('initial_lr')  # set by mmengine's parameter schedulers
        scale = group['lr'] / initial if initial else 1.0
        for weight_group in self.weight_optim.param_groups:
            weight_group['lr'] = self.base_lr * scale
        logs = model.meta_step(data_batch, network_optimizer, self.weight_optim)
        for key, value in logs.items():
            runner.message_hub.update_scalar(f'train/{key}', value)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.weight_optim is not None:
            checkpoint[CHECKPOINT_KEY] = dict(weight_optimizer=self.weight_optim.state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            return
        if self.weight_optim is not None:
            self.weight_optim.load_state_dict(state['weight_optimizer'])
        else:
            self._pending_state = state['weight_optimizer']
