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
    model = MODELS.build(
        dict(
            type='MCL',
            members=member,
            num_members=2,
            loss=dict(tau=0.1),
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


def _lmcl_worker(rank, world, port, out_dir):
    """One ordinary DDP step, then one meta step, each rank on its own half of the batch."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    torch.manual_seed(0)
    member = dict(
        backbone=dict(type='CifarResNet', depth=8, base_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=16, topk=(1, )))
    module = MODELS.build(
        dict(
            type='LMCL',
            mode='v2',
            members=member,
            num_members=2,
            loss=dict(tau=0.1),
            branches=dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2')),
            meta=dict(freq=1, times=2)))
    model = MMDistributedDataParallel(module=module)
    optim = OptimWrapper(torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.05, momentum=0.9))
    inputs, samples = _global_batch(0)
    per_rank = GLOBAL_BATCH // world
    sl = slice(rank * per_rank, (rank + 1) * per_rank)
    data = dict(inputs=inputs[sl], data_samples=samples[sl])
    model.train_step(data, optim)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    processed = module.data_preprocessor(data, True)
    local_grads, _ = module.meta_gradients(processed['inputs'], processed['data_samples'], optim.optimizer)
    weight_optim = OptimWrapper(torch.optim.SGD(module.weight_net.parameters(), lr=0.5))
    module.meta_step(data, optim.optimizer, weight_optim)
    torch.save(
        dict(before=before, after=module.state_dict(), local_grads=local_grads),
        os.path.join(out_dir, f'lmcl_rank{rank}.pt'))
    dist.barrier()
    dist.destroy_process_group()


def test_lmcl_meta_step_under_ddp_averages_only_the_weight_network_gradient(tmp_path):
    mp.start_processes(_lmcl_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, start_method='spawn', join=True)
    r0 = torch.load(tmp_path / 'lmcl_rank0.pt', weights_only=True)
    r1 = torch.load(tmp_path / 'lmcl_rank1.pt', weights_only=True)
    names = [k for k in r0['after'] if k.startswith('weight_net.')]
    # Each rank saw a different batch, so the local meta-gradients differ ...
    assert not all(torch.allclose(a, b) for a, b in zip(r0['local_grads'], r1['local_grads']))
    for key, g0, g1 in zip(names, r0['local_grads'], r1['local_grads']):
        # ... and both ranks applied the mean of them (plain SGD, lr 0.5): identical weight networks.
        assert torch.equal(r0['after'][key], r1['after'][key]), key
        assert torch.allclose(r0['after'][key], r0['before'][key] - 0.5 * (g0 + g1) / 2, atol=1e-6), key
    for key in r0['after']:
        if not key.startswith('weight_net.'):
            # The network is synchronised by DDP's own step and untouched by the meta step.
            assert torch.equal(r0['after'][key], r0['before'][key]), key
            if 'running' not in key and 'num_batches' not in key:  # BN statistics are per-rank in DDP
                assert torch.equal(r0['after'][key], r1['after'][key]), key
