"""MCL training step under DDP: 1 vs 2 processes (gloo on CPU, NCCL on GPUs) and the bank update's all-gather.

    python benchmarks/bench_ddp.py [--size 64] [--batch 16] [--neg-k 4096] [--bank-size 100000] [--iters 10]

Each process trains an MCL x2 ResNet-18 cohort on its own batch of --batch images (the global batch grows
with the processes, as in data-parallel training). Prints iterations/s and samples/s for 1 and 2 processes,
and the median time of the bank update (all-gather of indices + embeddings, then the momentum write).
"""
import argparse
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def worker(rank, world, port, args, queue):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group('nccl' if cuda else 'gloo', rank=rank, world_size=world)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // world))
    device = f'cuda:{rank}' if cuda else 'cpu'
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    torch.manual_seed(0)
    member = dict(
        backbone=dict(type='ResNet', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512))
    model = MODELS.build(
        dict(type='MCL', members=member, num_members=2, memory=dict(num_samples=args.bank_size,
                                                                    neg_k=args.neg_k))).to(device)
    model.memory.set_labels(torch.arange(args.bank_size, device=device) % 1000)
    if world > 1:
        model = MMDistributedDataParallel(module=model, device_ids=[rank] if cuda else None)
    core = model.module if world > 1 else model
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    g = torch.Generator().manual_seed(rank)
    inputs = torch.randn(args.batch, 3, args.size, args.size, generator=g).to(device)
    idx = torch.randint(0, args.bank_size, (args.batch, ), generator=g)
    data = dict(
        inputs=inputs,
        data_samples=[DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(i) % 1000) for i in idx])
    for _ in range(2):
        model.train_step(data, optim)
    step_times, update_times = [], []
    emb = [torch.nn.functional.normalize(torch.randn(args.batch, 128, device=device), dim=1)] * 2
    for _ in range(args.iters):
        if world > 1:
            dist.barrier()
        t = time.perf_counter()
        model.train_step(data, optim)
        if cuda:
            torch.cuda.synchronize()
        step_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        core.memory.update(idx.to(device), emb)
        if cuda:
            torch.cuda.synchronize()
        update_times.append(time.perf_counter() - t)
    if rank == 0:
        queue.put((statistics.median(step_times), statistics.median(update_times)))
    if world > 1:
        dist.destroy_process_group()


def run(world, args):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, world, args.port, args, queue)) for r in range(world)]
    for p in procs:
        p.start()
    result = queue.get()
    for p in procs:
        p.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--neg-k', type=int, default=4096)
    parser.add_argument('--bank-size', type=int, default=100000)
    parser.add_argument('--iters', type=int, default=10)
    args = parser.parse_args()
    print(f'{"procs":>5} | {"step s":>7} {"it/s":>6} {"samples/s":>9} | {"bank update ms":>14}')
    for world in (1, 2):
        args.port = _port()
        step, update = run(world, args)
        print(
            f'{world:>5} | {step:>7.3f} {1 / step:>6.2f} {world * args.batch / step:>9.1f} | {update * 1e3:>14.2f}',
            flush=True)


if __name__ == '__main__':
    main()
