"""mcl_mm registries: children of mmpretrain's, so every mmpretrain (and mmengine) module resolves
from `default_scope='mcl_mm'`, and mcl_mm modules are imported lazily through `locations`.

mmdet / mmseg modules are reached with an explicit scope (`type='mmdet.FasterRCNN'`) or by running
their configs in their own `default_scope`.
"""
from mmengine.registry import Registry
from mmpretrain.registry import DATA_SAMPLERS as MMPRETRAIN_DATA_SAMPLERS
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from mmpretrain.registry import EVALUATORS as MMPRETRAIN_EVALUATORS
from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
from mmpretrain.registry import LOG_PROCESSORS as MMPRETRAIN_LOG_PROCESSORS
from mmpretrain.registry import LOOPS as MMPRETRAIN_LOOPS
from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
from mmpretrain.registry import MODEL_WRAPPERS as MMPRETRAIN_MODEL_WRAPPERS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS
from mmpretrain.registry import OPTIM_WRAPPERS as MMPRETRAIN_OPTIM_WRAPPERS
from mmpretrain.registry import OPTIMIZERS as MMPRETRAIN_OPTIMIZERS
from mmpretrain.registry import PARAM_SCHEDULERS as MMPRETRAIN_PARAM_SCHEDULERS
from mmpretrain.registry import RUNNERS as MMPRETRAIN_RUNNERS
from mmpretrain.registry import TASK_UTILS as MMPRETRAIN_TASK_UTILS
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmpretrain.registry import VISBACKENDS as MMPRETRAIN_VISBACKENDS
from mmpretrain.registry import VISUALIZERS as MMPRETRAIN_VISUALIZERS
from mmpretrain.registry import WEIGHT_INITIALIZERS as MMPRETRAIN_WEIGHT_INITIALIZERS

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]


def _child(name, parent, location):
    return Registry(name, parent=parent, scope='mcl_mm', locations=[location])


RUNNERS = _child('runner', MMPRETRAIN_RUNNERS, 'mcl_mm.engine')
LOOPS = _child('loop', MMPRETRAIN_LOOPS, 'mcl_mm.engine')
HOOKS = _child('hook', MMPRETRAIN_HOOKS, 'mcl_mm.engine')
LOG_PROCESSORS = _child('log processor', MMPRETRAIN_LOG_PROCESSORS, 'mcl_mm.engine')
OPTIMIZERS = _child('optimizer', MMPRETRAIN_OPTIMIZERS, 'mcl_mm.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMPRETRAIN_OPTIM_WRAPPERS, 'mcl_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', MMPRETRAIN_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mcl_mm.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMPRETRAIN_PARAM_SCHEDULERS, 'mcl_mm.engine')

DATASETS = _child('dataset', MMPRETRAIN_DATASETS, 'mcl_mm.datasets')
DATA_SAMPLERS = _child('data sampler', MMPRETRAIN_DATA_SAMPLERS, 'mcl_mm.datasets')
TRANSFORMS = _child('transform', MMPRETRAIN_TRANSFORMS, 'mcl_mm.datasets')

MODELS = _child('model', MMPRETRAIN_MODELS, 'mcl_mm.models')
MODEL_WRAPPERS = _child('model_wrapper', MMPRETRAIN_MODEL_WRAPPERS, 'mcl_mm.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMPRETRAIN_WEIGHT_INITIALIZERS, 'mcl_mm.models')
TASK_UTILS = _child('task util', MMPRETRAIN_TASK_UTILS, 'mcl_mm.models')

METRICS = _child('metric', MMPRETRAIN_METRICS, 'mcl_mm.evaluation')
EVALUATORS = _child('evaluator', MMPRETRAIN_EVALUATORS, 'mcl_mm.evaluation')

VISUALIZERS = _child('visualizer', MMPRETRAIN_VISUALIZERS, 'mcl_mm.visualization')
VISBACKENDS = _child('vis_backend', MMPRETRAIN_VISBACKENDS, 'mcl_mm.visualization')
