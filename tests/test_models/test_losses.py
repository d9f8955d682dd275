"""The MCL loss functions against naive per-sample references written here, independently (float64)."""
import pytest
import torch
import torch.nn.functional as F

from mcl_mm.models.losses import MCLLoss, ensemble_logit_kd, inbatch_contrast_losses, memory_contrast_losses

TAU, T = 0.07, 3.0


def _kl(student, teacher):
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)) for one row; teacher detached."""
    p_t = torch.softmax(teacher.detach() / T, 0)
    return T * T * (p_t * (torch.log(p_t) - torch.log_softmax(student / T, 0))).sum()


def naive_memory_losses(embs, mems, pos_idx, neg_idx, weights=None):
    """``weights``: optional per-anchor factor on every term of that anchor (L-MCL v2)."""
    M, B = len(embs), embs[0].shape[0]
    P = pos_idx.shape[1]
    out = dict(vcl=0.0, soft_vcl=0.0, icl=0.0, soft_icl=0.0)
    for b in range(B):
        w = 1.0 if weights is None else weights[b]
        idx = pos_idx[b].tolist() + neg_idx[b].tolist()
        L = {}
        for i in range(M):
            for j in range(M):
                L[i, j] = torch.stack([torch.dot(mems[i][k].detach(), embs[j][b]) for k in idx]) / TAU
        for i in range(M):
            for j in range(M):
                if i == j:
                    continue
                logp = torch.log_softmax(L[i, j], 0)
                out['icl'] = out['icl'] - w * logp[:P].mean() / B
                out['soft_icl'] = out['soft_icl'] + w * _kl(L[i, j], L[j, i]) / B
        V = {m: L[m, m][1:] for m in range(M)}
        for m in range(M):
            out['vcl'] = out['vcl'] - w * torch.log_softmax(V[m], 0)[:P - 1].mean() / B
            for n in range(M):
                if n != m:
                    out['soft_vcl'] = out['soft_vcl'] + w * _kl(V[m], V[n]) / B
    return out


def naive_inbatch_losses(embs, labels, tau, weights=None):
    """``weights``: optional per-anchor factor on every term of that anchor (L-MCL v2)."""
    M, B = len(embs), embs[0].shape[0]
    out = dict(vcl=0.0, soft_vcl=0.0, icl=0.0, soft_icl=0.0)
    w = [1.0] * B if weights is None else weights

    def supcon(a_emb, c_emb):
        total, anchors = 0.0, 0
        for a in range(B):
            others = [b for b in range(B) if b != a]
            pos = [b for b in others if labels[b] == labels[a]]
            if not pos:
                continue
            logits = torch.stack([torch.dot(a_emb[a], c_emb[b]) / tau for b in others])
            logp = torch.log_softmax(logits, 0)
            total = total - w[a] * torch.stack([logp[others.index(p)] for p in pos]).mean()
            anchors += 1
        return total / anchors

    def rows(a_emb, c_emb, a):
        return torch.stack([torch.dot(a_emb[a], c_emb[b]) / tau for b in range(B)])

    for i in range(M):
        for j in range(M):
            if i == j:
                out['vcl'] = out['vcl'] + supcon(embs[i], embs[i])
            else:
                out['icl'] = out['icl'] + supcon(embs[i], embs[j])
                for a in range(B):
                    out['soft_icl'] = out['soft_icl'] + w[a] * _kl(
                        rows(embs[i], embs[j], a), rows(embs[j], embs[i], a)) / B
                    out['soft_vcl'] = out['soft_vcl'] + w[a] * _kl(
                        rows(embs[i], embs[i], a), rows(embs[j], embs[j], a)) / B
    return out


def _unit(*shape, generator):
    return F.normalize(torch.randn(*shape, generator=generator, dtype=torch.float64), dim=-1)


def _compare(fast, naive, params):
    for key in ('vcl', 'soft_vcl', 'icl', 'soft_icl'):
        assert torch.allclose(fast[key], naive[key], atol=1e-8, rtol=1e-6), (key, fast[key], naive[key])
        g_fast = torch.autograd.grad(fast[key], params, retain_graph=True)
        g_naive = torch.autograd.grad(naive[key], params, retain_graph=True)
        for gf, gn in zip(g_fast, g_naive):
            assert torch.allclose(gf, gn, atol=1e-8, rtol=1e-6), key


@pytest.mark.parametrize('num_members,pos_k', [(2, 1), (3, 2), (4, 1)])
def test_memory_losses_match_naive_reference(num_members, pos_k):
    g = torch.Generator().manual_seed(num_members * 10 + pos_k)
    B, D, N, neg_k = 5, 8, 40, 7
    embs = [_unit(B, D, generator=g).requires_grad_() for _ in range(num_members)]
    mems = [_unit(N, D, generator=g) for _ in range(num_members)]
    pos_idx = torch.cat([torch.arange(B).view(-1, 1), torch.randint(0, N, (B, pos_k), generator=g)], 1)
    neg_idx = torch.randint(0, N, (B, neg_k), generator=g)
    fast = memory_contrast_losses(embs, mems, pos_idx, neg_idx, TAU, T)
    naive = naive_memory_losses(embs, mems, pos_idx, neg_idx)
    _compare(fast, naive, embs)


def test_memory_losses_leave_banks_without_gradient():
    g = torch.Generator().manual_seed(0)
    embs = [_unit(4, 8, generator=g).requires_grad_() for _ in range(2)]
    mems = [_unit(20, 8, generator=g).requires_grad_() for _ in range(2)]
    pos_idx = torch.cat([torch.arange(4).view(-1, 1), torch.randint(0, 20, (4, 1), generator=g)], 1)
    neg_idx = torch.randint(0, 20, (4, 6), generator=g)
    out = memory_contrast_losses(embs, mems, pos_idx, neg_idx, TAU, T)
    sum(out.values()).backward()
    assert all(m.grad is None for m in mems)
    assert all(e.grad is not None and e.grad.abs().sum() > 0 for e in embs)


def test_memory_losses_accept_fp16_banks():
    g = torch.Generator().manual_seed(1)
    embs = [_unit(4, 8, generator=g).float() for _ in range(2)]
    mems = [_unit(20, 8, generator=g).float() for _ in range(2)]
    pos_idx = torch.cat([torch.arange(4).view(-1, 1), torch.randint(0, 20, (4, 1), generator=g)], 1)
    neg_idx = torch.randint(0, 20, (4, 6), generator=g)
    full = memory_contrast_losses(embs, mems, pos_idx, neg_idx, TAU, T)
    half = memory_contrast_losses(embs, [m.half() for m in mems], pos_idx, neg_idx, TAU, T)
    for key in full:
        assert half[key].dtype == torch.float32
        assert torch.allclose(full[key], half[key], rtol=2e-2, atol=2e-2), key


@pytest.mark.parametrize('num_members', [2, 3])
def test_inbatch_losses_match_naive_reference(num_members):
    g = torch.Generator().manual_seed(num_members)
    B, D = 8, 6
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 0])
    embs = [_unit(B, D, generator=g).requires_grad_() for _ in range(num_members)]
    fast = inbatch_contrast_losses(embs, labels, 0.1, T)
    naive = naive_inbatch_losses(embs, labels, 0.1)
    _compare(fast, naive, embs)


def test_inbatch_anchor_without_positive_is_left_out():
    """A singleton class contributes no contrastive term instead of a NaN."""
    g = torch.Generator().manual_seed(3)
    embs = [_unit(5, 4, generator=g) for _ in range(2)]
    labels = torch.tensor([0, 0, 1, 1, 2])  # class 2 has one image
    out = inbatch_contrast_losses(embs, labels, 0.1, T)
    assert all(torch.isfinite(v) for v in out.values())
    ref = naive_inbatch_losses(embs, labels, 0.1)
    assert torch.allclose(out['vcl'], ref['vcl'])


def test_ensemble_logit_kd_against_reference():
    g = torch.Generator().manual_seed(4)
    logits = [torch.randn(3, 5, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    teacher = torch.stack(logits).mean(0)
    ref = sum(_kl(z[b], teacher[b]) / 3 for z in logits for b in range(3))
    assert torch.allclose(ensemble_logit_kd(logits, T), ref)
    # The teacher is detached: the gradient is that of the student side only.
    g_fast = torch.autograd.grad(ensemble_logit_kd(logits, T), logits)
    g_ref = torch.autograd.grad(ref, logits)
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(a, b)
    # The authors' x4 runs: only the last member distils (the others get no KD gradient).
    last = ensemble_logit_kd(logits, T, students='last')
    ref_last = sum(_kl(logits[-1][b], teacher[b]) / 3 for b in range(3))
    assert torch.allclose(last, ref_last)
    grads = torch.autograd.grad(last, logits)
    assert all(torch.count_nonzero(g) == 0 for g in grads[:-1]) and torch.count_nonzero(grads[-1]) > 0
    with pytest.raises(ValueError, match="'all' or 'last'"):
        MCLLoss(kd_students='first')


def test_mcl_loss_weights_and_validation():
    g = torch.Generator().manual_seed(5)
    embs = [_unit(6, 4, generator=g) for _ in range(2)]
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    terms = inbatch_contrast_losses(embs, labels, 0.1, T)
    module = MCLLoss(loss_weights=dict(vcl=0.5, icl=2.0, soft_vcl=0.0), tau=0.1, kl_temperature=T)
    out = module(embs, labels)
    assert set(out) == {'loss_vcl', 'loss_icl', 'loss_soft_icl'}
    assert torch.allclose(out['loss_vcl'], 0.5 * terms['vcl'])
    assert torch.allclose(out['loss_icl'], 2.0 * terms['icl'])
    assert torch.allclose(out['loss_soft_icl'], 1.0 * terms['soft_icl'])
    with pytest.raises(KeyError, match='unknown MCL loss_weights keys'):
        MCLLoss(loss_weights=dict(vlc=1.0))
    with pytest.raises(ValueError, match='must be a finite number > 0'):
        MCLLoss(tau=0)
    with pytest.raises(ValueError, match='at least 2 members'):
        inbatch_contrast_losses(embs[:1], labels)


def test_term_functions_keep_leading_dims():
    from mcl_mm.models.losses import inbatch_terms, memory_terms
    g = torch.Generator().manual_seed(5)
    bank_rel = torch.randn(3, 2, 2, 4, 9, generator=g, dtype=torch.float64)
    batch_rel = torch.randn(3, 2, 2, 4, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    stacked_bank, stacked_batch = memory_terms(bank_rel, 2, T), inbatch_terms(batch_rel, labels, T)
    for n in range(3):
        single_bank, single_batch = memory_terms(bank_rel[n], 2, T), inbatch_terms(batch_rel[n], labels, T)
        for key in ('vcl', 'soft_vcl', 'icl', 'soft_icl'):
            assert torch.allclose(stacked_bank[key][n], single_bank[key], atol=1e-12), key
            assert torch.allclose(stacked_batch[key][n], single_batch[key], atol=1e-12), key
