"""Where the MCL loss path's time goes: the kernels of one step, eager and compiled, and any graph breaks.

    python benchmarks/profile_loss_path.py [--device cuda] [--members 2] [--batch 64] [--neg-k 8192]
                                           [--bank-size 1281167] [--amp none|fp16|bf16] [--top 15]

The step is bench_loss_path's (sampling, the four terms forward + backward, the bank update, no backbones).
Printed per arm: wall time of one step, the device time its kernels add up to, the number of kernel launches,
the kernels that take the most device time, and for the compiled arm Dynamo's graph and graph-break counts.
Wall time well above the kernels' sum means the step waits on launches or the host, not on the GPU.
"""
import argparse
import statistics
import time
from collections import Counter

import torch
from bench_loss_path import add_step_arguments, build, make_step, sync
from torch.profiler import ProfilerActivity, profile


def profile_arm(args, compiled: bool, device: torch.device) -> None:
    loss, bank = build(args, compiled, device)
    step = make_step(args, loss, bank, device)
    for _ in range(3):  # compile and warm up
        step()
    sync(device)
    walls = []
    for _ in range(10):
        t = time.perf_counter()
        step()
        sync(device)
        walls.append(1e3 * (time.perf_counter() - t))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == 'cuda' else [])
    with profile(activities=activities) as prof:
        step()
        sync(device)
    kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    busy = Counter()
    launches = Counter()
    for e in kernels:
        busy[e.name] += e.device_time_total if hasattr(e, 'device_time_total') else e.cuda_time_total
        launches[e.name] += 1
    total_us = sum(busy.values())
    name = 'compiled' if compiled else 'eager'
    print(f'\n== {name}: wall {statistics.median(walls):.2f} ms (median of 10), kernels {total_us / 1e3:.2f} ms '
          f'of device time in {sum(launches.values())} launches')
    for kernel, us in busy.most_common(args.top):
        print(f'  {us / 1e3:8.3f} ms {launches[kernel]:5d}x  {kernel[:110]}')
    if compiled:
        from torch._dynamo.utils import counters
        breaks = dict(counters['graph_break'])
        print(f'  dynamo: {dict(counters["stats"])}; graph breaks: {len(breaks)}')
        for reason, count in list(breaks.items())[:10]:
            print(f'    {count}x {str(reason)[:150]}')


def main() -> None:
    parser = add_step_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument('--top', type=int, default=15)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f'device={device} M={args.members} B={args.batch} neg_k={args.neg_k} N={args.bank_size} amp={args.amp}')
    for compiled in (False, True):
        profile_arm(args, compiled, device)


if __name__ == '__main__':
    main()
