"""Mixed precision check: every MCL / L-MCL loss term under autocast vs fp32 on the same batch and weights.

    python benchmarks/check_amp.py [--device cuda] [--batch 32] [--size 224]

Prints each term in fp32, bf16 and fp16 autocast and the relative difference; exits non-zero if any term is
not finite or differs by more than --tolerance (relative, default 5 %). Needs a CUDA device for fp16/bf16.
"""
import argparse
import sys

import torch
from bench_lmcl import BRANCHES, member
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mcl_mm.registry import MODELS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--bank-size', type=int, default=20000)
    parser.add_argument('--neg-k', type=int, default=4096)
    parser.add_argument('--tolerance', type=float, default=0.05)
    args = parser.parse_args()
    init_default_scope('mcl_mm')
    torch.manual_seed(0)
    dev = args.device
    inputs = torch.randn(args.batch, 3, args.size, args.size, device=dev)
    samples = [DataSample(metainfo=dict(sample_idx=i)).set_gt_label(i % 10).to(dev) for i in range(args.batch)]
    common = dict(
        members=member(18),
        num_members=2,
        loss=dict(tau=0.07),
        memory=dict(num_samples=args.bank_size, neg_k=args.neg_k))
    failures = 0
    for name, cfg in dict(
            mcl=dict(type='MCL', **common), lmcl_v2=dict(type='LMCL', mode='v2', branches=BRANCHES, **common)).items():
        model = MODELS.build(cfg).to(dev)
        model.memory.set_labels(torch.arange(args.bank_size, device=dev) % 10)
        model.memory.update = lambda *a, **k: None  # same banks for every precision
        model.train()
        results = {}
        for precision in ('fp32', 'bf16', 'fp16'):
            dtype = dict(bf16=torch.bfloat16, fp16=torch.float16).get(precision)
            with torch.no_grad(), torch.autocast(
                    device_type=dev, dtype=dtype or torch.float32, enabled=dtype is not None):
                # BN statistics move with every forward: restore them so each precision sees the same model.
                state = {k: v.clone() for k, v in model.state_dict().items()}
                results[precision] = {k: float(v) for k, v in model.loss(inputs, samples).items()}
                model.load_state_dict(state)
        print(f'{name}: {"term":>22} {"fp32":>10} {"bf16":>10} {"rel":>7} {"fp16":>10} {"rel":>7}')
        for key, ref in results['fp32'].items():
            row = f'{"":>{len(name) + 1}} {key:>22} {ref:>10.4f}'
            for precision in ('bf16', 'fp16'):
                value = results[precision][key]
                rel = abs(value - ref) / max(abs(ref), 1e-3)
                bad = not torch.isfinite(torch.tensor(value)) or rel > args.tolerance
                failures += bad
                row += f' {value:>10.4f} {rel:>6.1%}{"!" if bad else " "}'
            print(row)
        del model
    print('AMP check', 'FAILED' if failures else 'passed', f'({failures} terms off)')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
