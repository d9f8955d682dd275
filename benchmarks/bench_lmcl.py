"""Cost of L-MCL: one training step of MCL, L-MCL v1 and L-MCL v2, and one v2 meta step, on the same batch.

    python benchmarks/bench_lmcl.py [--device cpu|cuda] [--depth 18] [--size 224] [--batch 32]
                                    [--bank-size 1281167] [--neg-k 8192] [--repeats 5] [--json OUT]

Members are mmpretrain ResNets (x2) with the ImageNet L-MCL branches (taps after layer1..3, one block per
stage) and memory banks. A "step" is ``train_step`` (forward + backward + SGD step + bank update); the
meta step is ``LMCL.meta_step`` (times=2 contrastive look-ahead steps + 1 CE step, second-order gradient
to the weight network, its SGD step). Prints medians and ratios to the MCL step; the meta step runs every
``meta.freq`` iterations (500 on ImageNet), so its amortised cost is ratio / freq.
"""
import argparse
import json

import torch
from bench_step import timed  # noqa: E402  (same timing rule: warm-up, synchronised median)
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mcl_mm.models.compile import compile_failures
from mcl_mm.registry import MODELS

BRANCHES = dict(
    stages=('layer1', 'layer2', 'layer3', 'layer4'), taps=('layer1', 'layer2', 'layer3'), depth='first_block')


def member(depth):
    channels = 512 if depth in (18, 34) else 2048
    return dict(
        backbone=dict(type='ResNet', depth=depth, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=channels, topk=(1, )))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--depth', type=int, default=18)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--bank-size', type=int, default=1281167)
    parser.add_argument('--neg-k', type=int, default=8192)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--compile',
        choices=['off', 'on'],
        default='off',
        help='the ordinary steps\' loss path through torch.compile (the meta step stays eager)')
    parser.add_argument('--no-meta', dest='meta', action='store_false', help='skip the v2 meta step')
    parser.add_argument('--arms', nargs='+', default=['mcl', 'lmcl_v1', 'lmcl_v2'], help='which arms to time')
    parser.add_argument('--json', help='write the rows here')
    args = parser.parse_args()
    init_default_scope('mcl_mm')
    dev = args.device
    torch.manual_seed(0)
    idx = torch.randperm(args.bank_size)[:args.batch]
    data = dict(
        inputs=torch.randn(args.batch, 3, args.size, args.size, device=dev),
        data_samples=[DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(i) % 1000) for i in idx])
    compiled = args.compile == 'on'
    common = dict(
        members=member(args.depth),
        num_members=2,
        loss=dict(tau=0.07, compile=compiled),
        memory=dict(num_samples=args.bank_size, neg_k=args.neg_k, compile=compiled))
    arms = {
        'mcl': dict(type='MCL', **common),
        'lmcl_v1': dict(type='LMCL', mode='v1', branches=BRANCHES, **common),
        'lmcl_v2': dict(type='LMCL', mode='v2', branches=BRANCHES, meta=dict(freq=10**9, times=2), **common),
    }
    arms = {name: cfg for name, cfg in arms.items() if name in args.arms}
    print(f'device={dev} ResNet-{args.depth} x2 {args.size}px batch={args.batch} bank N={args.bank_size} '
          f'neg_k={args.neg_k} repeats={args.repeats} compile={args.compile}')
    rows = {}
    for name, cfg in arms.items():
        model = MODELS.build(cfg).to(dev)
        model.memory.set_labels(torch.arange(args.bank_size, device=dev) % 1000)
        wrapper = OptimWrapper(
            torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                            lr=0.1,
                            momentum=0.9,
                            weight_decay=1e-4,
                            nesterov=True))
        rows[name] = timed(lambda: model.train_step(data, wrapper), args.repeats, dev)
        if compile_failures(model):
            print(f'{name}: fell back to eager: {compile_failures(model)}')
        if name == 'lmcl_v2' and args.meta:
            weight_wrapper = OptimWrapper(torch.optim.SGD(model.weight_net.parameters(), lr=0.1, momentum=0.9))
            rows['lmcl_v2_meta_step'] = timed(lambda: model.meta_step(data, wrapper.optimizer, weight_wrapper),
                                              args.repeats, dev)
            if dev == 'cuda':
                torch.cuda.reset_peak_memory_stats()
                model.meta_step(data, wrapper.optimizer, weight_wrapper)
                rows['lmcl_v2_meta_peak_gib'] = torch.cuda.max_memory_allocated() / 2**30
    print(f'{"arm":>18} | {"median s":>9} {"vs MCL":>7}')
    for name, value in rows.items():
        if name.endswith('_gib'):
            print(f'{name:>18} | {value:>8.2f} GiB')
        else:
            ratio = f'{value / rows["mcl"]:>6.2f}x' if 'mcl' in rows else ''
            print(f'{name:>18} | {value:>9.4f} {ratio}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(vars(args), rows=rows), f, indent=1)


if __name__ == '__main__':
    main()
