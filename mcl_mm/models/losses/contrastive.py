"""The MCL contrastive terms as pure functions (no state, no registry).

Yang et al., "Online Knowledge Distillation via Mutual Contrastive Learning for Visual Recognition", TPAMI 2023
(https://arxiv.org/abs/2207.11518): Vanilla Contrastive Learning (VCL, within a member), Interactive
Contrastive Learning (ICL, across members) and their soft versions (Soft VCL / Soft ICL, KL between the
members' contrastive distributions), plus the optional ensemble logit KD.

Notation follows docs/method.md §2: M members, v_m (B, D) L2-normalised embeddings, tau the contrast
temperature, T the KL temperature. Every function returns terms *summed* over members / ordered
pairs and *averaged* over anchors.

Both paths reduce to the same three building blocks on a stack of "relation" logits
``R[i, j]`` (anchor embeddings of member i scored against candidates seen by member j):

* :func:`multi_positive_nll` — InfoNCE / SupCon with several positives per anchor;
* :func:`pairwise_kl` — Soft ICL, KL(R[i, j] || R[j, i]) over ordered pairs;
* :func:`member_kl` — Soft VCL, KL(R[m, m] || R[m', m']) over ordered pairs.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.checks import check_cohort_size, check_kd_students

MCL_TERMS = ('vcl', 'soft_vcl', 'icl', 'soft_icl')


def _at_least_fp32(x: Tensor) -> Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def kl_div_with_temperature(student: Tensor, teacher: Tensor, temperature: float) -> Tensor:
    """T² · KL(softmax(teacher/T) || softmax(student/T)) summed over the last dim, the teacher detached.

    Returns one value per row (all leading dims kept). Computed in fp32: under autocast the difference
    of two close log-distributions cancels badly in half precision (65 % off in bf16, measured).
    """
    log_p_student = F.log_softmax(_at_least_fp32(student) / temperature, dim=-1)
    log_p_teacher = F.log_softmax(_at_least_fp32(teacher.detach()) / temperature, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1)
    return kl * temperature**2


def multi_positive_nll(logits: Tensor, pos_mask: Tensor, valid_mask: Optional[Tensor] = None) -> Tensor:
    """-mean over positives of log-softmax, averaged over anchors that have a positive.

    Args:
        logits: (..., B, C) scores of each anchor against C candidates.
        pos_mask: (B, C) bool, broadcast over the leading dims.
        valid_mask: (B, C) bool; False columns are left out of the softmax (e.g. the anchor itself).

    Returns:
        (...) loss per leading index.
    """
    per_anchor, has_pos = per_anchor_nll(logits, pos_mask, valid_mask)
    return per_anchor.sum(-1) / has_pos.sum().clamp(min=1)


def per_anchor_nll(logits: Tensor, pos_mask: Tensor, valid_mask: Optional[Tensor] = None):
    """Each anchor's -mean over positives of log-softmax, (..., B) (0 for anchors without a positive), and
    which anchors have a positive (B,). See :func:`multi_positive_nll`."""
    if valid_mask is not None:
        logits = logits.masked_fill(~valid_mask, float('-inf'))
        pos_mask = pos_mask & valid_mask
    log_prob = F.log_softmax(logits, dim=-1)
    # -inf * 0 would be NaN: zero the masked entries before weighting.
    log_prob = log_prob.masked_fill(~pos_mask, 0.0)
    num_pos = pos_mask.sum(-1)
    has_pos = num_pos > 0
    return -log_prob.sum(-1) / num_pos.clamp(min=1) * has_pos, has_pos


def block_kl_matrix(blocks: Tensor, temperature: float) -> Tensor:
    """KL between every ordered pair of row distributions: (B, N, N) for blocks (N, B, C), entry [b, s, t] =
    ``kl_div_with_temperature(blocks[s, b], blocks[t, b])`` (s the student, t the detached teacher).

    KL(t || s) = sum p_t log p_t - sum p_t log q_s: the first part is one number per teacher row, the second
    one batched matmul, so N log-softmaxes serve all N^2 pairs.
    """
    log_q = F.log_softmax(_at_least_fp32(blocks) / temperature, dim=-1)  # (N, B, C), student side
    log_p = log_q.detach()
    p = log_p.exp()
    neg_entropy = (p * log_p).sum(-1)  # (N, B)
    cross = torch.bmm(log_q.transpose(0, 1), p.permute(1, 2, 0))  # (B, N_student, N_teacher)
    return (neg_entropy.t().unsqueeze(1) - cross) * temperature**2


def _off_diagonal_sum(values: Tensor) -> Tensor:
    """Sum of (..., M, M) matrices without their diagonals: (...)."""
    eye = torch.eye(values.shape[-1], dtype=torch.bool, device=values.device)
    return values.masked_fill(eye, 0.0).sum((-2, -1))


def member_diagonal(relations: Tensor) -> Tensor:
    """Each member's own relations ``R[..., m, m]`` (what VCL and Soft VCL read), a view without a copy.

    Args:
        relations (Tensor): (..., M, M, B, C) relation logits, ``R[..., i, j]`` at ``relations[..., i, j, :, :]``.

    Returns:
        Tensor: (..., M, B, C), entry ``[..., m, b, c] = relations[..., m, m, b, c]``.
    """
    return relations.diagonal(dim1=-4, dim2=-3).movedim(-1, -3)


def pairwise_kl(relations: Tensor, temperature: float) -> Tensor:
    """Soft ICL: sum over ordered pairs i != j of KL(R[i, j] as student || R[j, i] as teacher).

    Args:
        relations: (..., M, M, B, C) logits.
    """
    kl = kl_div_with_temperature(relations, relations.transpose(-4, -3), temperature)  # (..., M, M, B)
    return _off_diagonal_sum(kl.mean(-1))


def member_kl(member_logits: Tensor, temperature: float) -> Tensor:
    """Soft VCL: sum over ordered pairs m != m' of KL(L[m] as student || L[m'] as teacher).

    Args:
        member_logits: (..., M, B, C) logits, one distribution per member and anchor.
    """
    num_members = member_logits.shape[-3]
    student = member_logits.unsqueeze(-3).expand(*member_logits.shape[:-3], -1, num_members, -1, -1)  # L[m]
    teacher = member_logits.unsqueeze(-4).expand(*member_logits.shape[:-3], num_members, -1, -1, -1)  # L[m']
    kl = kl_div_with_temperature(student, teacher, temperature)  # (..., M, M, B)
    return _off_diagonal_sum(kl.mean(-1))


def memory_contrast_losses(embeddings: Sequence[Tensor],
                           memories: Union[Tensor, Sequence[Tensor]],
                           pos_idx: Tensor,
                           neg_idx: Tensor,
                           tau: float = 0.07,
                           kl_temperature: float = 3.0,
                           fused: bool = False) -> Dict[str, Tensor]:
    """The ImageNet path (docs/method.md §2a): contrast against per-member memory banks.

    Args:
        embeddings: M tensors (B, D), L2-normalised.
        memories: the banks, read only (never receive gradient), fp32 or fp16: either one (M, N, D) tensor
            (what :class:`CohortMemoryBank` holds; gathered without a copy of the banks) or M tensors (N, D).
        pos_idx: (B, 1 + pos_k); column 0 is each anchor's own dataset index.
        neg_idx: (B, neg_k) negatives (other classes).
        tau: contrast temperature.
        kl_temperature: T of the Soft VCL / Soft ICL KL terms.
        fused: the gather-dot form of :func:`memory_relations`, for a compiled caller.

    Returns:
        dict with scalar tensors ``vcl``, ``soft_vcl``, ``icl``, ``soft_icl``.
    """
    check_cohort_size(len(embeddings))
    anchors = torch.stack(list(embeddings))  # (M, B, D)
    relations = memory_relations(memories, pos_idx, neg_idx, anchors, tau, fused=fused)
    return memory_terms(relations, pos_idx.shape[1], kl_temperature)


def memory_relations(memories: Union[Tensor, Sequence[Tensor]],
                     pos_idx: Tensor,
                     neg_idx: Tensor,
                     anchors: Tensor,
                     tau: float,
                     fused: bool = False) -> Tensor:
    """Scores of every bank's sampled rows against every anchor view: (G, V, B, K).

    ``out[g, v, b, k] = <bank_g[idx[b, k]], anchors[v, b]> / tau`` with ``idx = [pos_idx, neg_idx]``. With
    V = G (one view per member) this is the ``R[i, j]`` (bank i, embedding j) stack of MCL; L-MCL passes
    every (member, stage) view at once.

    Eager (``fused=False``): one gather of the G banks into (B, G*K, D) rows and one batched matmul.
    ``fused=True`` writes the same numbers as a gather-dot (indexed rows times anchors, summed over D) for
    :func:`torch.compile`: Inductor folds the row gather into the reduction, forward and backward, so the
    (B, G*K, D) rows are never materialised. Eager, that form would allocate V times the rows: use it
    compiled only.

    Args:
        anchors: (V, B, D) L2-normalised embeddings.
    """
    indices = torch.cat([pos_idx, neg_idx], dim=1)
    if fused:
        banks = _stacked_banks(memories)
        num_banks, num_samples, dim = banks.shape
        offsets = torch.arange(num_banks, device=indices.device).view(-1, 1, 1) * num_samples
        rows = banks.reshape(num_banks * num_samples, dim)[indices.unsqueeze(0) + offsets]  # (G, B, K, D)
        scores = (rows.unsqueeze(1).to(anchors.dtype) * anchors.unsqueeze(0).unsqueeze(3)).sum(-1)
        return scores / tau  # (G, V, B, K)
    rows = gather_memory_rows(memories, indices).to(anchors.dtype)  # (B, G*K, D)
    batch, num_views = rows.shape[0], anchors.shape[0]
    num_banks = rows.shape[1] // indices.shape[1]
    out = torch.bmm(rows, anchors.permute(1, 2, 0))  # (B, G*K, V)
    return (out.view(batch, num_banks, -1, num_views).permute(1, 3, 0, 2) / tau).contiguous()


def bank_positive_masks(relations: Tensor, num_pos: int) -> Tuple[Tensor, Tensor]:
    """Positives of the bank path's candidate columns ``[own slot, pos_k same-class slots, negatives]``:
    ICL (B, K) = own slot + pos_k slots; VCL (B, K - 1), own slot dropped = the pos_k slots."""
    batch, num_candidates = relations.shape[-2:]
    icl_pos = torch.zeros(batch, num_candidates, dtype=torch.bool, device=relations.device)
    icl_pos[:, :num_pos] = True
    vcl_pos = icl_pos[:, 1:].clone()
    vcl_pos[:, num_pos - 1:] = False
    return icl_pos, vcl_pos


def inbatch_positive_masks(labels: Tensor) -> Tuple[Tensor, Tensor]:
    """In-batch positives (same class, not the same image) and valid candidates (not the same image), (B, B):
    as in the authors' code the same image, from either member, is neither a positive nor a negative."""
    not_self = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    same_class = labels.view(-1, 1) == labels.view(1, -1)
    return same_class & not_self, not_self


def memory_terms(relations: Tensor, num_pos: int, kl_temperature: float) -> Dict[str, Tensor]:
    """The four MCL terms from bank relations ``R[i, j]`` = bank of i scored against embedding j.

    Leading dims are kept: each term comes back with shape (...).

    Args:
        relations: (..., M, M, B, K); the first ``num_pos`` columns (own slot + pos_k) are the ICL positives.
        num_pos: 1 + pos_k.
    """
    icl_pos, vcl_pos = bank_positive_masks(relations, num_pos)
    icl = _off_diagonal_sum(multi_positive_nll(relations, icl_pos))
    vcl_logits = member_diagonal(relations)[..., 1:]  # (..., M, B, K - 1): own bank, own slot dropped
    vcl = multi_positive_nll(vcl_logits, vcl_pos).sum(-1)

    return dict(
        vcl=vcl,
        soft_vcl=member_kl(vcl_logits, kl_temperature),
        icl=icl,
        soft_icl=pairwise_kl(relations, kl_temperature),
    )


def _stacked_banks(memories: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """(M, N, D) detached: the stacked buffer as is, a list of banks stacked (a copy: fine for small banks and
    tests, the training path passes the stacked buffer)."""
    banks = memories if torch.is_tensor(memories) else torch.stack(list(memories))
    return banks.detach()


def gather_memory_rows(memories: Union[Tensor, Sequence[Tensor]], indices: Tensor) -> Tensor:
    """``memories[m][indices[b, k]]`` for every member in one gather, laid out (B, M*K, D), detached.

    The rows are read once from the (M*N, D) view of the stacked bank.
    """
    banks = _stacked_banks(memories)
    num_members, num_samples, dim = banks.shape
    offsets = torch.arange(num_members, device=indices.device).view(1, -1, 1) * num_samples
    flat = (indices.unsqueeze(1) + offsets).reshape(-1)  # (B * M * K), ordered b, m, k
    rows = banks.reshape(num_members * num_samples, dim).index_select(0, flat)
    return rows.view(indices.shape[0], num_members * indices.shape[1], dim)


def inbatch_contrast_losses(embeddings: Sequence[Tensor],
                            labels: Tensor,
                            tau: float = 0.1,
                            kl_temperature: float = 3.0) -> Dict[str, Tensor]:
    """The CIFAR path (docs/method.md §2b): contrast within the batch, no bank.

    S[m, m'] = v_m v_{m'}^T / tau. VCL is SupCon within a member, ICL the same with the anchor from m
    and candidates from m'. As in the authors' code, the diagonal (the same image, from either member)
    is neither a positive nor a negative. Soft terms compare full row-softmaxes; both sides of each
    similarity receive gradient, the KL target is detached.

    Args:
        embeddings: M tensors (B, D), L2-normalised.
        labels: (B,) class labels.

    Returns:
        dict with scalar tensors ``vcl``, ``soft_vcl``, ``icl``, ``soft_icl``.
    """
    check_cohort_size(len(embeddings))
    anchors = torch.stack(list(embeddings))  # (M, B, D)
    relations = torch.einsum('ibd,jcd->ijbc', anchors, anchors) / tau  # (M, M, B, B)
    return inbatch_terms(relations, labels, kl_temperature)


def inbatch_terms(relations: Tensor, labels: Tensor, kl_temperature: float) -> Dict[str, Tensor]:
    """The four MCL terms from in-batch relations ``S[m, m'] = v_m v_m'^T / tau``.

    Leading dims are kept: each term comes back with shape (...).

    Args:
        relations: (..., M, M, B, B).
        labels: (B,).
    """
    positives, valid = inbatch_positive_masks(labels)
    nll = multi_positive_nll(relations, positives, valid_mask=valid)  # (..., M, M)
    return dict(
        vcl=nll.diagonal(dim1=-2, dim2=-1).sum(-1),
        soft_vcl=member_kl(member_diagonal(relations), kl_temperature),
        icl=_off_diagonal_sum(nll),
        soft_icl=pairwise_kl(relations, kl_temperature),
    )


def ensemble_logit_kd(logits: Sequence[Tensor], temperature: float = 3.0, students: str = 'all') -> Tensor:
    """Optional logit KD (docs/method.md §2c): members distil from the detached mean of all logits.

    ``students='all'``: every member (the authors' M = 2 runs); ``'last'``: only the last member (the authors'
    M = 4 CIFAR and ImageNet runs, "MCL (x4) + logit KD").
    """
    check_kd_students(students)
    stacked = torch.stack(list(logits))  # (M, B, C)
    teacher = stacked.mean(0, keepdim=True).expand_as(stacked)
    if students == 'last':
        stacked, teacher = stacked[-1:], teacher[-1:]
    return kl_div_with_temperature(stacked, teacher, temperature).mean(-1).sum()
