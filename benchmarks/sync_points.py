"""Where a cohort training step makes the host wait for the GPU (CUDA only).

    python benchmarks/sync_points.py [--members 2] [--batch 64] [--neg-k 8192] [--compile off|on] [--amp ...]

A synchronising call in the middle of a step (a blocking host-to-device copy, ``.item()``, ``nonzero``)
stops the host from queueing kernels while the GPU works, so the loss path's host time adds to the step
instead of hiding behind the backbones. Runs bench_step's cohort and independent steps under
``torch.cuda.set_sync_debug_mode('warn')`` and prints every synchronising call with the Python frames that
made it (this repository's and mmengine's / mmpretrain's), counted over one step.
"""
import argparse
import traceback
import warnings
from collections import Counter

import torch
from bench_step import MEMBER, batch, mcl_cohort, optim_wrapper
from mmengine.registry import init_default_scope

from mcl_mm.registry import MODELS


def frames() -> str:
    ours = ('mcl_mm', 'mmengine', 'mmpretrain', 'benchmarks')
    keep = [f for f in traceback.extract_stack()[:-3] if any(k in f.filename for k in ours)]
    return ' <- '.join(f'{f.filename.split("/")[-1]}:{f.lineno} {f.name}' for f in reversed(keep[-6:]))


def syncs_of(step) -> Counter:
    found = Counter()
    original = warnings.showwarning

    def record(message, category, filename, lineno, file=None, line=None):
        if 'synchroniz' in str(message):
            if any(f.name == '<lambda>' for f in traceback.extract_stack()):  # inside the step, not around it
                found[frames()] += 1
        else:
            original(message, category, filename, lineno, file, line)

    torch.cuda.synchronize()
    warnings.showwarning = record
    torch.cuda.set_sync_debug_mode('warn')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('always')
            warnings.showwarning = record
            step()
    finally:
        torch.cuda.set_sync_debug_mode('default')
        warnings.showwarning = original
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--members', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--neg-k', type=int, default=8192)
    parser.add_argument('--bank-size', type=int, default=1281167)
    parser.add_argument('--compile', choices=['off', 'on'], default='on')
    parser.add_argument('--amp', choices=['none', 'fp16', 'bf16'], default='none')
    args = parser.parse_args()
    init_default_scope('mcl_mm')

    data = batch(args.size, args.batch, args.bank_size, 'cuda')
    member = MODELS.build(MEMBER).cuda()
    member_wrapper = optim_wrapper(member.parameters(), args.amp)
    cohort = mcl_cohort(args.members, args.bank_size, args.neg_k, args.compile == 'on', 'cuda')
    cohort_wrapper = optim_wrapper(cohort.parameters(), args.amp)
    for name, step in (('independent member', lambda: member.train_step(data, member_wrapper)),
                       ('MCL cohort', lambda: cohort.train_step(data, cohort_wrapper))):
        for _ in range(3):  # compile and warm up
            step()
        found = syncs_of(step)
        print(f'\n== {name} (compile {args.compile}, amp {args.amp}): {sum(found.values())} synchronising calls '
              'in one step')
        for where, count in found.most_common():
            print(f'  {count}x  {where}')


if __name__ == '__main__':
    main()
