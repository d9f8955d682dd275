"""One training iteration of an MCL cohort vs the same M members trained independently on the same batch.

    python benchmarks/bench_step.py [--device cpu|cuda] [--size 224] [--batch 32] [--members 2 4]
                                    [--neg-k 4096 8192 16384] [--bank-size 1281167] [--repeats 5]
                                    [--amp none|fp16|bf16] [--compile off on]

"independent" = M mmpretrain ImageClassifiers (ResNet-18), each forward + backward + SGD step on the batch;
"cohort" = the MCL model (same members + embedding heads + banks + all four terms + bank update), one
forward + backward + SGD step. Prints medians and the overhead ratio cohort / independent. ``--compile
off on`` times the cohort with the loss path eager and through torch.compile (``MCLLoss(compile=...)``,
``CohortMemoryBank(compile=...)``) in the same run; the first compiled step's time is reported apart.
"""
import argparse
import statistics
import time

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mcl_mm.models.compile import compile_failures
from mcl_mm.registry import MODELS

MEMBER = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=512, topk=(1, )))


def batch(size, n, num_samples, device):
    inputs = torch.randn(n, 3, size, size, device=device)
    idx = torch.randperm(num_samples)[:n]
    samples = [DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(i) % 1000) for i in idx]
    return dict(inputs=inputs, data_samples=samples)


def optim_wrapper(params, amp: str):
    """SGD in mmengine's wrapper; ``amp`` 'fp16' / 'bf16': its AmpOptimWrapper."""
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    if amp == 'none':
        return OptimWrapper(optimizer)
    return AmpOptimWrapper(optimizer=optimizer, dtype='float16' if amp == 'fp16' else 'bfloat16')


def mcl_cohort(members: int, bank_size: int, neg_k: int, compiled: bool, device, fp16_bank: bool = False):
    """An MCL cohort of ``MEMBER`` networks with its memory bank labelled like ``batch``'s samples."""
    cohort = MODELS.build(
        dict(
            type='MCL',
            members={
                k: v
                for k, v in MEMBER.items() if k != 'type'
            },
            num_members=members,
            loss=dict(compile=compiled),
            memory=dict(num_samples=bank_size, neg_k=neg_k, fp16=fp16_bank, compile=compiled))).to(device)
    cohort.memory.set_labels(torch.arange(bank_size, device=device) % 1000)
    return cohort


def timed(fn, repeats, device):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--members', type=int, nargs='+', default=[2, 4])
    parser.add_argument('--neg-k', type=int, nargs='+', default=[4096, 8192, 16384])
    parser.add_argument('--bank-size', type=int, default=1281167)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--fp16-bank', action='store_true')
    parser.add_argument(
        '--amp',
        choices=['none', 'fp16', 'bf16'],
        default='none',
        help="mixed precision through mmengine's AmpOptimWrapper (CUDA), for both arms")
    parser.add_argument(
        '--compile',
        nargs='+',
        choices=['off', 'on'],
        default=['off'],
        help='loss path eager (off) and/or compiled (on); both are timed when both are given')
    parser.add_argument('--plot', help='write a PNG of overhead vs neg_k here')
    parser.add_argument('--json', help='write the rows here')
    args = parser.parse_args()
    rows = []
    init_default_scope('mcl_mm')

    def wrap(params):
        return optim_wrapper(params, args.amp)

    dev = args.device
    print(f'device={dev} threads={torch.get_num_threads()} {args.size}px batch={args.batch} bank N={args.bank_size} '
          f'amp={args.amp}')
    print(f'{"M":>2} {"neg_k":>6} {"compile":>7} | {"independent s":>13} {"cohort s":>9} {"overhead":>8} '
          f'{"1st step s":>11}' + (f' {"peak GiB":>8}' if dev == 'cuda' else ''))
    for M in args.members:
        data = batch(args.size, args.batch, args.bank_size, dev)
        members = [MODELS.build(MEMBER).to(dev) for _ in range(M)]
        wrappers = [wrap(m.parameters()) for m in members]

        def independent():
            for model, wrapper in zip(members, wrappers):
                model.train_step(data, wrapper)

        t_ind = timed(independent, args.repeats, dev)
        for neg_k in args.neg_k:
            for compile_flag in args.compile:
                torch.manual_seed(0)
                compiled = compile_flag == 'on'
                cohort = mcl_cohort(M, args.bank_size, neg_k, compiled, dev, fp16_bank=args.fp16_bank)
                wrapper = wrap(cohort.parameters())
                first = time.perf_counter()
                cohort.train_step(data, wrapper)
                if dev == 'cuda':
                    torch.cuda.synchronize()
                first = time.perf_counter() - first
                if dev == 'cuda':
                    torch.cuda.reset_peak_memory_stats()
                t_mcl = timed(lambda c=cohort, w=wrapper: c.train_step(data, w), args.repeats, dev)
                peak = torch.cuda.max_memory_allocated() / 2**30 if dev == 'cuda' else None
                failed = compile_failures(cohort)
                print(
                    f'{M:>2} {neg_k:>6} {compile_flag:>7} | {t_ind:>13.4f} {t_mcl:>9.4f} {t_mcl / t_ind:>7.3f}x '
                    f'{first:>11.1f}' + (f' {peak:>8.2f}' if peak is not None else '') +
                    (f'  (fell back to eager: {failed})' if failed else ''),
                    flush=True)
                rows.append(
                    dict(
                        M=M,
                        neg_k=neg_k,
                        compile=compile_flag,
                        independent_s=t_ind,
                        cohort_s=t_mcl,
                        overhead=t_mcl / t_ind,
                        samples_per_s=args.batch / t_mcl,
                        first_step_s=first,
                        peak_gib=peak,
                        compile_failures=failed))
                del cohort, wrapper
    if args.json:
        import json
        with open(args.json, 'w') as f:
            json.dump(
                dict(device=dev, amp=args.amp, size=args.size, batch=args.batch, bank_size=args.bank_size, rows=rows),
                f,
                indent=1)
    if args.plot:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for M in args.members:
            for flag in args.compile:
                pts = [(r['neg_k'], r['overhead']) for r in rows if r['M'] == M and r['compile'] == flag]
                ax.plot(*zip(*pts), marker='o', label=f'M = {M}, compile {flag}')
        ax.axhline(1.03, color='grey', linestyle='--', linewidth=1, label='target 1.03')
        ax.set(
            xscale='log',
            xlabel='neg_k',
            ylabel='cohort step / independent steps',
            title=f'MCL overhead, ResNet-18 {args.size}px, B={args.batch}, {dev}')
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == '__main__':
    main()
