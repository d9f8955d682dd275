"""MCL loss + bank-update path: mcl_mm's fused formulation vs the authors' per-pair-gather structure.

    python benchmarks/bench_losses.py [--device cpu|cuda] [--batch 32] [--members 2 4] [--neg-k 4096 8192 16384]
                                      [--bank-sizes 100000 1281167] [--repeats 10]

Both formulations compute the same four terms on the same inputs; the script asserts they agree to 1e-5
and prints, per setting, the median time of loss (forward + backward) + bank update for each, the speed
ratio, and peak memory (CUDA: max_memory_allocated; CPU: peak RSS growth of one step, in a fresh process).
"""
import argparse
import json
import multiprocessing as mp
import statistics
import time

import torch
import torch.nn.functional as F

from mcl_mm.models.losses import memory_contrast_losses
from mcl_mm.models.memories import CohortMemoryBank


def per_pair_reference(embeddings, banks, pos_idx, neg_idx, tau, T):
    """The authors' structure: every pair and every term gathers its own rows from the banks."""
    M = len(embeddings)
    idx = torch.cat([pos_idx, neg_idx], 1)
    P = pos_idx.shape[1]

    def logits(bank, v, cols):
        rows = torch.index_select(bank, 0, cols.reshape(-1)).view(*cols.shape, -1).detach()
        return torch.bmm(rows, v.unsqueeze(2)).squeeze(2) / tau

    def nll(lg, num_pos):
        return -F.log_softmax(lg, 1)[:, :num_pos].mean(1).mean()

    def kl(s, t):
        return F.kl_div(F.log_softmax(s / T, 1), F.softmax(t.detach() / T, 1), reduction='batchmean') * T * T

    out = dict(vcl=0, soft_vcl=0, icl=0, soft_icl=0)
    vcl_logits = [logits(banks[m], embeddings[m], idx[:, 1:]) for m in range(M)]
    for m in range(M):
        out['vcl'] = out['vcl'] + nll(vcl_logits[m], P - 1)
        for n in range(M):
            if n != m:
                out['soft_vcl'] = out['soft_vcl'] + kl(vcl_logits[m], logits(banks[n], embeddings[n], idx[:, 1:]))
    for i in range(M):
        for j in range(i + 1, M):
            ij = logits(banks[i], embeddings[j], idx)
            ji = logits(banks[j], embeddings[i], idx)
            out['icl'] = out['icl'] + nll(ij, P) + nll(ji, P)
            out['soft_icl'] = out['soft_icl'] + kl(ij, ji) + kl(ji, ij)
    return out


def reference_update(banks, indices, embeddings, momentum=0.5):
    for m, v in enumerate(embeddings):
        rows = banks[m].index_select(0, indices)
        banks[m].index_copy_(0, indices, F.normalize(rows * momentum + v.detach() * (1 - momentum), dim=1))


def setup(M, N, B, neg_k, device, seed=0):
    torch.manual_seed(seed)
    bank = CohortMemoryBank(M, N, 128, pos_k=1, neg_k=neg_k).to(device)
    bank.set_labels(torch.arange(N, device=device) % 1000)
    emb = [F.normalize(torch.randn(B, 128, device=device), dim=1).requires_grad_() for _ in range(M)]
    idx = torch.randperm(N, device=device)[:B]
    return bank, emb, idx


def step(kind, bank, emb, idx, ref_banks=None):
    pos, neg = bank.sample(idx, bank.labels[idx])
    if kind == 'fused':
        out = memory_contrast_losses(emb, bank.banks, pos, neg, 0.07, 3.0)
        sum(out.values()).backward()
        bank.update(idx, emb)
    else:
        out = per_pair_reference(emb, ref_banks, pos, neg, 0.07, 3.0)
        sum(out.values()).backward()
        reference_update(ref_banks, idx, emb)
    return out


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def time_kind(kind, M, N, B, neg_k, device, repeats):
    bank, emb, idx = setup(M, N, B, neg_k, device)
    ref_banks = [b.clone() for b in bank.banks.unbind(0)] if kind == 'per_pair' else None
    for _ in range(2):
        step(kind, bank, emb, idx, ref_banks)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        step(kind, bank, emb, idx, ref_banks)
        sync(device)
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() if device == 'cuda' else None
    return statistics.median(times), peak


def _proc_status_kb(field):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def _child(queue, kind, M, N, B, neg_k, device, repeats):
    median, peak = time_kind(kind, M, N, B, neg_k, device, repeats)
    if peak is None:  # CPU: peak RSS growth over one more step, after resetting the high-water mark
        bank, emb, idx = setup(M, N, B, neg_k, device)
        ref = [b.clone() for b in bank.banks.unbind(0)] if kind == 'per_pair' else None
        step(kind, bank, emb, idx, ref)
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
        base = _proc_status_kb('VmRSS')
        step(kind, bank, emb, idx, ref)
        peak = (_proc_status_kb('VmHWM') - base) * 1024
    queue.put((median, peak))


def measure(kind, M, N, B, neg_k, device, repeats):
    """Time (and peak memory) in a fresh process, so one variant's allocations don't hide the other's."""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, kind, M, N, B, neg_k, device, repeats))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def check_equal(M, N, B, neg_k, device):
    bank, emb, idx = setup(M, N, B, neg_k, device)
    pos, neg = bank.sample(idx, bank.labels[idx])
    fused = memory_contrast_losses(emb, bank.banks, pos, neg, 0.07, 3.0)
    ref = per_pair_reference(emb, list(bank.banks.unbind(0)), pos, neg, 0.07, 3.0)
    for k in fused:
        assert torch.allclose(fused[k], ref[k], atol=1e-5, rtol=1e-5), (k, fused[k].item(), ref[k].item())
    g_fused = torch.autograd.grad(sum(fused.values()), emb)
    g_ref = torch.autograd.grad(sum(ref.values()), emb)
    for a, b in zip(g_fused, g_ref):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--members', type=int, nargs='+', default=[2, 4])
    parser.add_argument('--neg-k', type=int, nargs='+', default=[4096, 8192, 16384])
    parser.add_argument('--bank-size', type=int, default=100000, help='N for the neg_k / M sweep')
    parser.add_argument('--bank-sizes', type=int, nargs='+', default=[10000, 100000, 1281167])
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--json', help='also write the rows here')
    args = parser.parse_args()
    print(
        f'device={args.device} threads={torch.get_num_threads()} batch={args.batch} (per member) repeats={args.repeats}'
    )
    rows = []
    header = f'{"M":>2} {"N":>8} {"neg_k":>6} | {"fused ms":>9} {"per-pair ms":>11} {"speed-up":>8} | ' \
             f'{"fused MB":>9} {"per-pair MB":>11}'
    print(header + '\n' + '-' * len(header))
    settings = [(M, args.bank_size, k) for M in args.members for k in args.neg_k]
    settings += [(2, n, 8192) for n in args.bank_sizes if n != args.bank_size]
    for M, N, neg_k in settings:
        check_equal(M, min(N, 20000), args.batch, neg_k, args.device)
        fused_t, fused_m = measure('fused', M, N, args.batch, neg_k, args.device, args.repeats)
        ref_t, ref_m = measure('per_pair', M, N, args.batch, neg_k, args.device, args.repeats)
        row = dict(
            M=M,
            N=N,
            neg_k=neg_k,
            fused_ms=fused_t * 1e3,
            per_pair_ms=ref_t * 1e3,
            speedup=ref_t / fused_t,
            fused_mb=fused_m / 2**20,
            per_pair_mb=ref_m / 2**20)
        rows.append(row)
        print(
            f'{M:>2} {N:>8} {neg_k:>6} | {row["fused_ms"]:>9.1f} {row["per_pair_ms"]:>11.1f} '
            f'{row["speedup"]:>7.2f}x | {row["fused_mb"]:>9.0f} {row["per_pair_mb"]:>11.0f}',
            flush=True)
    print('values: fused == per-pair to 1e-5 (asserted for every setting)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
