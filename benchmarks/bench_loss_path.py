"""The MCL loss path alone, eager vs torch.compile: time, aten-op count and peak memory of one step.

    python benchmarks/bench_loss_path.py [--device cpu|cuda] [--members 2] [--batch 64] [--neg-k 8192]
                                         [--bank-size 1281167] [--repeats 10] [--amp none|fp16|bf16] [--json OUT]

One "step" = the bank path of an MCL training step without the backbones: sample positives / negatives,
the four terms from M embeddings (forward + backward), the bank update. Embeddings are leaf tensors, so
what is timed is exactly the code behind ``MCLLoss`` and ``CohortMemoryBank``. Reported per arm:
median time, the number of ``aten::`` ops the CPU profiler records for one step (each one a kernel launch
or more on a GPU), peak memory above the resident banks (CUDA), and the first call's time (compilation).
The compiled values are checked against eager before timing.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from mcl_mm.models.losses import MCLLoss
from mcl_mm.models.memories import CohortMemoryBank


def add_step_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The step's sizes and precision (shared with profile_loss_path.py)."""
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--members', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--neg-k', type=int, default=8192)
    parser.add_argument('--bank-size', type=int, default=1281167)
    parser.add_argument('--amp', choices=['none', 'fp16', 'bf16'], default='none')
    return parser


def build(args, compile_mode, device):
    torch.manual_seed(0)
    loss = MCLLoss(tau=0.07, compile=compile_mode)
    bank = CohortMemoryBank(args.members, args.bank_size, neg_k=args.neg_k, compile=compile_mode).to(device)
    bank.set_labels(torch.arange(args.bank_size, device=device) % 1000)
    return loss, bank


def make_step(args, loss, bank, device):
    gen = torch.Generator().manual_seed(1)
    indices = torch.randperm(args.bank_size, generator=gen)[:args.batch].to(device)
    labels = indices % 1000
    feats = [torch.randn(args.batch, 128, generator=gen).to(device).requires_grad_() for _ in range(args.members)]
    dtype = dict(none=None, fp16=torch.float16, bf16=torch.bfloat16)[args.amp]

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            embeddings = [F.normalize(f, dim=1) for f in feats]
            pos_idx, neg_idx = bank.sample(indices, labels)
            terms = loss(embeddings, labels, memories=bank.banks, pos_idx=pos_idx, neg_idx=neg_idx)
        total = sum(terms.values())
        total.backward()
        bank.update(indices, embeddings)
        return {k: v.detach() for k, v in terms.items()}

    return step


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def measure(args, compile_mode, device):
    loss, bank = build(args, compile_mode, device)
    step = make_step(args, loss, bank, device)
    sync(device)
    t = time.perf_counter()
    first = step()
    sync(device)
    first_s = time.perf_counter() - t
    step()
    times = []
    for _ in range(args.repeats):
        sync(device)
        t = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
        sync(device)
    ops = sum(1 for e in prof.events() if e.name.startswith('aten::'))
    peak = None
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        sync(device)
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return dict(
        median_ms=1e3 * statistics.median(times),
        first_call_s=first_s,
        aten_ops=ops,
        peak_mib=peak,
        fallback=loss._bank_terms.failed or bank._draws.failed or bank._update.failed), first


def main(argv=None):
    parser = add_step_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--json', help='write the rows here')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    print(f'device={device} M={args.members} B={args.batch} neg_k={args.neg_k} N={args.bank_size} amp={args.amp}')
    rows = {}
    eager, eager_terms = measure(args, False, device)
    rows['eager'] = eager
    compiled, compiled_terms = measure(args, True, device)
    rows['compiled'] = compiled
    tol = 1e-4 if args.amp == 'none' else 5e-2
    diff = max(
        abs(eager_terms[k] - compiled_terms[k]).item() / max(1.0,
                                                             abs(eager_terms[k]).item()) for k in eager_terms)
    print(f'compiled vs eager, first step, max relative term difference: {diff:.2e} (tolerance {tol:g})')
    print(f'{"arm":>9} | {"median ms":>9} {"aten ops":>8} {"peak MiB":>9} {"first call s":>12}')
    for name, row in rows.items():
        peak = '-' if row['peak_mib'] is None else f'{row["peak_mib"]:.1f}'
        print(f'{name:>9} | {row["median_ms"]:>9.2f} {row["aten_ops"]:>8} {peak:>9} {row["first_call_s"]:>12.1f}' +
              ('  (compile failed: eager fallback)' if row['fallback'] else ''))
    print(f'speed-up compiled / eager: {eager["median_ms"] / compiled["median_ms"]:.2f}x')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(vars(args), rows=rows, max_rel_diff=diff), f, indent=1)
    if diff > tol:
        sys.exit(f'compiled terms differ from eager by {diff:.2e} > {tol:g}')


if __name__ == '__main__':
    main()
