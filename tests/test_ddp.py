"""Real 2-process DDP (gloo on CPU): banks stay identical across ranks and equal a 1-process run fed the
same global batch; so do the weights (counter-based sampling makes the draws rank-independent)."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

GLOBAL_BATCH, ITERS = 8, 3


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _build():
    from mmengine.registry import init_default_scope
    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    torch.manual_seed(0)
    member = dict(
        # BN frozen to running statistics: a per-rank batch then computes what the global batch would.
        backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(3, ), norm_eval=True),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=512, topk=(1, )))
    model = MODELS.build(dict(type='MCL', members=member, num_members=2, loss=dict(tau=0.1),
                              memory=dict(num_samples=24, pos_k=1, neg_k=6)))
    model.memory.set_labels(torch.arange(24) % 3)
    return model.train()  # applies norm_eval


def _global_batch(step):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(100 + step)
    inputs = torch.randn(GLOBAL_BATCH, 3, 32, 32, generator=g)
    idx = torch.randperm(24, generator=g)[:GLOBAL_BATCH]
    samples = [DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(i) % 3) for i in idx]
    return inputs, samples


def _train(model, rank, world):
    from mmengine.optim import OptimWrapper
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    banks = []
    for step in range(ITERS):
        inputs, samples = _global_batch(step)
        per_rank = GLOBAL_BATCH // world
        sl = slice(rank * per_rank, (rank + 1) * per_rank)
        model.train_step(dict(inputs=inputs[sl], data_samples=samples[sl]), optim)
        memory = (model.module if hasattr(model, 'module') else model).memory
        banks.append(memory.banks.clone())
    module = model.module if hasattr(model, 'module') else model
    return dict(banks=torch.stack(banks), params={k: v.detach().clone() for k, v in module.state_dict().items()})


def _worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.model import MMDistributedDataParallel
    model = MMDistributedDataParallel(module=_build())
    torch.save(_train(model, rank, world), os.path.join(out_dir, f'rank{rank}.pt'))
    dist.barrier()
    dist.destroy_process_group()


def test_two_process_gloo_matches_single_process(tmp_path):
    mp.start_processes(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, start_method='spawn', join=True)
    r0 = torch.load(tmp_path / 'rank0.pt', weights_only=True)
    r1 = torch.load(tmp_path / 'rank1.pt', weights_only=True)
    # Identical across ranks after every iteration, bit for bit.
    assert torch.equal(r0['banks'], r1['banks'])
    for key in r0['params']:
        assert torch.equal(r0['params'][key], r1['params'][key]), key

    single = _train(_build(), rank=0, world=1)
    assert torch.allclose(single['banks'], r0['banks'], atol=1e-5)
    for key, value in single['params'].items():
        assert torch.allclose(value.float(), r0['params'][key].float(), atol=1e-4), key
    # The banks really moved: 3 iterations x 8 anchors were written.
    assert not torch.allclose(single['banks'][0], single['banks'][-1])
