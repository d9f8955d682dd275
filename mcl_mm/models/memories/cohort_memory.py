"""Per-member memory banks with class-aware sampling on the device (docs/method.md §2a)."""
import math
from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from mmengine.model import BaseModule
from torch import Tensor

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError, DataError
from ..compile import MaybeCompiled

UNLABELLED = -1
_MASK32 = 0xFFFFFFFF


def _mul32(x: Tensor, c: int) -> Tensor:
    """(x * c) mod 2**32 for 32-bit x in int64 without overflowing: split x into 16-bit halves."""
    return (((((x >> 16) * c) & 0xFFFF) << 16) + (x & 0xFFFF) * c) & _MASK32


def hash32(x: Tensor) -> Tensor:
    """A 32-bit integer mixer (lowbias32); int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def counter_uniform_int(keys: Tensor, num_columns: int, high: Tensor) -> Tensor:
    """Draws in [0, high) that depend only on (key, column): (B, num_columns) for keys (B,), high (B, 1) or
    (B, num_columns).

    Counter-based sampling makes a draw a pure function of the anchor and the step, so DDP ranks
    sampling their own slices reproduce exactly what one process sampling the global batch would,
    and a resumed run repeats the uninterrupted one.
    """
    columns = torch.arange(num_columns, device=keys.device)
    bits = hash32(hash32(keys.view(-1, 1) & _MASK32) ^ columns.view(1, -1))
    return (bits * high) >> 32  # multiply-shift: uniform integer in [0, high)


def class_aware_draws(indices: Tensor, labels: Tensor, order: Tensor, offsets: Tensor, step: Tensor, seed: int,
                      pos_k: int, neg_k: int) -> Tuple[Tensor, Tensor]:
    """Positive and negative dataset indices for anchors ``indices`` of classes ``labels`` (pure).

    ``order`` sorts the N slots by class and ``offsets[c]`` is where class c starts in it. A positive is a
    uniform draw inside the anchor's class segment, a negative a uniform draw from the N - n_c slots mapped
    around that segment; every draw is a hash of (seed, step, anchor index, column).

    Returns:
        pos_idx (B, 1 + pos_k): column 0 the anchor's own index; neg_idx (B, neg_k).
    """
    num_samples = order.shape[0]
    start = offsets[labels].unsqueeze(1)  # (B, 1)
    count = (offsets[labels + 1] - offsets[labels]).unsqueeze(1)
    # One key per (seed, step, anchor); the step is read on the device, no host sync.
    step_key = hash32((step * 0x9E3779B1 + seed) & _MASK32)
    keys = hash32((step_key ^ indices) & _MASK32)
    # One counter-hash pass for both draws: columns [0, pos_k) inside the class segment, [pos_k, pos_k + neg_k)
    # among the N - n_c slots outside it.
    high = torch.cat([count.expand(-1, pos_k), (num_samples - count).expand(-1, neg_k)], dim=1)
    draws = counter_uniform_int(keys, pos_k + neg_k, high)
    pos_idx = order[start + draws[:, :pos_k]]
    neg_draw = draws[:, pos_k:]
    neg_idx = order[neg_draw + count * (neg_draw >= start)]
    return torch.cat([indices.view(-1, 1), pos_idx], dim=1), neg_idx


def momentum_update_(banks: Tensor, indices: Tensor, embeddings: Tensor, momentum: float) -> None:
    """``banks[m, n] <- normalise(momentum * banks[m, n] + (1 - momentum) * v_m^n)`` at ``indices``, in place.

    Args:
        banks: (M, N, D); embeddings: (M, B, D) on the banks' device.
    """
    old = banks[:, indices].float()
    new = F.normalize(old * momentum + embeddings.float() * (1.0 - momentum), dim=-1)
    banks[:, indices] = new.to(banks.dtype)


@MODELS.register_module()
class CohortMemoryBank(BaseModule):
    """One (N, D) bank per cohort member plus the training set's label table.

    * Banks start uniform in ±1/sqrt(D/3) and are updated after the loss with
      ``bank[n] <- normalise(momentum * bank[n] + (1 - momentum) * v_n)``, only at the anchors' slots.
    * Sampling is class-aware and runs on the bank's device without per-class index lists: the label
      table is sorted once (``order`` and per-class ``offsets``), a positive is a uniform draw inside
      the anchor's class segment, a negative a uniform draw from the N - n_c other slots mapped around
      that segment. Memory is O(N) integers whatever the number of classes.
    * Under DDP the anchors' indices and embeddings are all-gathered before the update, so every rank
      applies the same global update and the banks stay identical.
    * Banks and the label table are buffers: they travel in checkpoints and are restored on resume.
    * Draws are counter-based (a hash of seed, update step, anchor index and column), so they are the
      same whichever rank holds the anchor; the step counter is a buffer, restored on resume.

    Args:
        num_members (int): M, the cohort size.
        num_samples (int): N, the training set size (checked against the dataset at start).
        feat_dim (int): D, the embedding size. Defaults to 128.
        pos_k (int): Positives drawn per anchor from its class (may include the anchor itself). Defaults to 1.
        neg_k (int): Negatives drawn per anchor from other classes, with replacement. Defaults to 8192.
        momentum (float): mu of the update rule, in [0, 1). Defaults to 0.5.
        fp16 (bool): Store the banks in half precision (halves their memory; the math stays fp32).
            Defaults to False.
        seed (int): Seed of the positive / negative draws. Defaults to 0.
        compile (bool or str): Run the draws and the update through :func:`torch.compile` (``True`` /
            ``False`` / ``'auto'``: on CUDA only); the same values, fewer kernels. Defaults to ``'auto'``.
        init_cfg (dict or list[dict], optional): Initialization config dict (the banks are not initialised
            by it). Defaults to None.
    """

    def __init__(self,
                 num_members: int,
                 num_samples: int,
                 feat_dim: int = 128,
                 pos_k: int = 1,
                 neg_k: int = 8192,
                 momentum: float = 0.5,
                 fp16: bool = False,
                 seed: int = 0,
                 compile: Union[bool, str] = 'auto',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_samples <= 0:
            raise ConfigError(f'memory bank num_samples must be the training set size (> 0), got {num_samples}')
        if pos_k < 0 or neg_k < 1:
            raise ConfigError(f'memory bank needs pos_k >= 0 and neg_k >= 1, got pos_k={pos_k}, neg_k={neg_k}')
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f'memory bank momentum must be in [0, 1), got {momentum}')
        self.num_members = num_members
        self.num_samples = num_samples
        self.feat_dim = feat_dim
        self.pos_k = pos_k
        self.neg_k = neg_k
        self.momentum = momentum
        self.seed = seed
        self._draws = MaybeCompiled(class_aware_draws, compile, 'CohortMemoryBank sampling')
        self._update = MaybeCompiled(momentum_update_, compile, 'CohortMemoryBank update')
        self._pending = None  # a deferred update: (indices, embeddings), see update()
        stdv = 1.0 / math.sqrt(feat_dim / 3)
        banks = torch.rand(num_members, num_samples, feat_dim).mul_(2 * stdv).sub_(stdv)
        self.register_buffer('banks', banks.half() if fp16 else banks)
        self.register_buffer('labels', torch.full((num_samples, ), UNLABELLED, dtype=torch.long))
        self.register_buffer('num_updates', torch.zeros((), dtype=torch.long))
        # Derived from `labels`; rebuilt, never saved.
        self.register_buffer('_order', torch.empty(0, dtype=torch.long), persistent=False)
        self.register_buffer('_offsets', torch.empty(0, dtype=torch.long), persistent=False)

    def init_weights(self):
        # The banks' initial state is set in __init__; mmengine's initialisers must not touch buffers.
        pass

    # ------------------------------------------------------------------ label table
    @property
    def is_labelled(self) -> bool:
        return bool((self.labels != UNLABELLED).all())

    def set_labels(self, labels) -> None:
        """Fill the label table from the dataset's ground-truth labels (index = dataset index)."""
        labels = torch.as_tensor(labels, dtype=torch.long).flatten()
        if labels.numel() != self.num_samples:
            raise DataError(f'memory bank size mismatch: the bank has num_samples={self.num_samples} slots but the '
                            f'training set has {labels.numel()} samples. Set model.memory.num_samples={labels.numel()} '
                            f'in the config.')
        if (labels < 0).any():
            raise DataError('memory bank labels must be non-negative class indices')
        self.labels.copy_(labels.to(self.labels.device))
        self._build_sampling_tables()

    def _build_sampling_tables(self) -> None:
        order = torch.argsort(self.labels, stable=True)
        counts = torch.bincount(self.labels, minlength=int(self.labels.max()) + 1)
        if (counts == self.num_samples).any():
            raise DataError('memory bank needs at least two classes to sample negatives')
        self._order = order
        self._offsets = F.pad(torch.cumsum(counts, 0), (1, 0))

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        if self.is_labelled:
            self._build_sampling_tables()

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, indices: Tensor, labels: Tensor, previous_step: bool = False) -> Tuple[Tensor, Tensor]:
        """Draw contrast indices for a batch of anchors.

        Draws are a function of (seed, update count, anchor). ``previous_step=True`` repeats the draw of the
        step before the last update (L-MCL's meta step reuses the ordinary step's indices, as the authors).

        Returns:
            pos_idx (B, 1 + pos_k): column 0 the anchor's own index, then same-class draws;
            neg_idx (B, neg_k): draws from other classes.
        """
        if self._order.numel() == 0:
            raise RuntimeError('memory bank has no label table: it is filled from the training set by '
                               "custom_hooks=[dict(type='CohortMemoryHook')]; add that hook to the config")
        self.flush_pending_update()
        device = self.labels.device
        step = (self.num_updates - 1).clamp(min=0) if previous_step else self.num_updates
        return self._draws(
            indices.to(device),
            labels.to(device),
            self._order,
            self._offsets,
            step,
            self.seed,
            self.pos_k,
            self.neg_k,
            device=device)

    # ------------------------------------------------------------------ update
    @torch.no_grad()
    def update(self, indices: Tensor, embeddings: Sequence[Tensor]) -> None:
        """Momentum-update the anchors' slots in every member's bank (all ranks alike under DDP).

        Eagerly the write happens here. On the compiled path it is deferred to the next read of the banks
        (:meth:`sample`, ``state_dict``): the compiled loss does not copy the rows it gathers and reads them
        again in its backward pass, which runs after this call. The values are the same either way.
        """
        stacked = torch.stack([e.detach().float() for e in embeddings], dim=1)  # (B, M, D)
        indices = indices.to(stacked.device)
        if get_world_size() > 1:
            indices = torch.cat(all_gather(indices))
            stacked = torch.cat(all_gather(stacked.contiguous()))
        indices = indices.to(self.banks.device)
        stacked = stacked.to(self.banks.device).transpose(0, 1)  # (M, B, D)
        self.flush_pending_update()
        if self._update.enabled(self.banks.device):
            self._pending = (indices, stacked)
        else:
            self._update(self.banks, indices, stacked, self.momentum, device=self.banks.device)
        self.num_updates += 1

    @torch.no_grad()
    def flush_pending_update(self) -> None:
        """Apply a deferred update (see :meth:`update`); a no-op when there is none."""
        if self._pending is not None:
            indices, stacked = self._pending
            self._pending = None
            self._update(self.banks, indices, stacked, self.momentum, device=self.banks.device)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        self.flush_pending_update()  # a checkpoint holds every update made so far
        super()._save_to_state_dict(destination, prefix, keep_vars)
