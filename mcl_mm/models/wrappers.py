"""DDP for a model on the CPU (the gloo backend), built by the runner like mmengine's own wrapper."""
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS

from mcl_mm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` for a module on the CPU: mmengine's runner passes the local rank as
    a CUDA device id, which DDP refuses for a CPU module, so it is dropped. Chosen by ``build_runner`` for a
    distributed launch on a host without CUDA."""

    def __init__(self, module, device_ids=None, **kwargs):
        if all(p.device.type == 'cpu' for p in module.parameters()):
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


# Also in mmengine's root registry: the runner looks wrappers up there, where a grandchild scope is not searched.
MMENGINE_MODEL_WRAPPERS.register_module(
    name='CPUDistributedDataParallel', module=CPUDistributedDataParallel, force=True)
