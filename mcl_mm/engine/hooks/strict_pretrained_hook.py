"""A backbone initialised from a file must have taken every weight of it: mmengine's ``Pretrained`` init
loads with ``strict=False`` and only warns, so a file that fits nothing leaves a randomly initialised
detector / segmentor that looks pretrained. This hook turns that into an error before the first step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS as MMENGINE_HOOKS

from mcl_mm.engine.checkpoint import load_checkpoint_file
from mcl_mm.engine.runtime import install_runtime_patches
from mcl_mm.registry import HOOKS
from mcl_mm.utils.errors import PretrainedMismatchError


def show_keys(keys) -> str:
    """The first six of ``keys`` (sorted) and how many more, for an error message."""
    keys = sorted(keys)
    return ', '.join(keys[:6]) + (f' ... (+{len(keys) - 6})' if len(keys) > 6 else '') if keys else 'none'


@HOOKS.register_module()
class StrictPretrainedHook(Hook):
    """Before training, check the ``Pretrained`` file of ``model.<module>.init_cfg`` against that module:
    every key of the module's state dict present (after the init's ``prefix``), no key left over, the same
    shapes and — since init already ran — the same values. Any difference is one error naming the file and
    the keys. No ``Pretrained`` init (random initialisation, a resumed run) checks nothing.

    Args:
        module (str): The model attribute initialised from the file. Defaults to ``'backbone'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, module: str = 'backbone'):
        self.module = module
        # Built from mmdet's / mmseg's own tools too: give their runs the same checkpoint IO as ours.
        install_runtime_patches()

    def before_train(self, runner) -> None:
        init_cfg = runner.cfg.model.get(self.module, {}).get('init_cfg')
        if not init_cfg or init_cfg.get('type') != 'Pretrained' or runner._resume or runner._load_from:
            return
        path, prefix = init_cfg['checkpoint'], init_cfg.get('prefix')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        own = getattr(model, self.module).state_dict()
        ckpt = load_checkpoint_file(path, map_location='cpu')
        state = ckpt.get('state_dict', ckpt)
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        missing, unexpected = set(own) - set(state), set(state) - set(own)
        shapes = {k for k in set(own) & set(state) if own[k].shape != state[k].shape}
        if missing or unexpected or shapes:
            raise PretrainedMismatchError(
                f'model.{self.module}.init_cfg: {path} (prefix {prefix}) does not fit the {self.module}; '
                f'missing keys: {show_keys(missing)}; unexpected keys: {show_keys(unexpected)}; shape '
                f'mismatches: {show_keys(shapes)}. Pass the right file '
                '(tools/model_converters/extract_backbone.py output: prefix=None; cohort checkpoint: '
                'prefix=members.<i>.backbone.; publish_model file: prefix=backbone.)')
        differ = {
            k
            for k in own if own[k].dtype.is_floating_point and not own[k].cpu().equal(state[k].to(own[k].dtype))
        }
        if differ:
            raise PretrainedMismatchError(
                f'model.{self.module}.init_cfg: the weights of {path} were not loaded into the '
                f'{self.module} ({show_keys(differ)} differ after initialisation)')
        runner.logger.info(f'StrictPretrainedHook: all {len(own)} tensors of model.{self.module} come from {path}')


# Also in mmengine's root registry, so mmdet / mmseg configs (their own scopes) find it by its plain name.
MMENGINE_HOOKS.register_module(name='StrictPretrainedHook', module=StrictPretrainedHook, force=True)
