"""Layer-wise Mutual Contrastive Learning (L-MCL): MCL at intermediate stages through auxiliary refinement
branches; v2 adds meta-learned layer matching, stage aggregation and aggregate distillation.

L-MCL is the layer-wise extension of MCL in Yang et al., "Online Knowledge Distillation via Mutual Contrastive
Learning for Visual Recognition", TPAMI 2023 (https://arxiv.org/abs/2207.11518): the VCL / ICL / Soft VCL /
Soft ICL terms applied between the members' stages (v1: stage by stage; v2: every cross-member stage pair,
weighted by a meta-learned layer-matching network). As implemented here: docs/method.md §3.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from mmpretrain.structures import DataSample
from torch import Tensor, nn
from torch.func import functional_call

from mcl_mm.registry import MODELS
from mcl_mm.utils.errors import ConfigError
from ..heads.auxiliary_branches import capture_stage_outputs
from ..losses.contrastive import kl_div_with_temperature
from ..losses.layer_contrast import check_lmcl_mode
from ..losses.lmcl_loss import stage_label
from ..utils.lookahead import sgd_hyperparams, sgd_lookahead_step
from .mcl import MCL

# 'network': the network optimizer's own update (its momentum buffers, Nesterov); 'authors': the authors'
# MetaSGD (the network's lr, momentum and weight decay, momentum buffers from zero, no Nesterov).
LOOKAHEADS = ('network', 'authors')


@MODELS.register_module()
class LMCL(MCL):
    """L-MCL: an MCL cohort whose members carry :class:`AuxiliaryBranches`.

    Stage k of member i is the branch tapped after ``taps[k]`` (the last stage is the member itself), with
    its own classifier (CE) and embedding head. ``mode='v1'`` contrasts the members stage by stage;
    ``mode='v2'`` contrasts every cross-member stage pair weighted per anchor by :class:`LayerMatchWeightNet`,
    mixes each member's stage logits with a :class:`StageAggregator` (CE on the mix) and distils every
    member's final logits from every member's aggregate. The weight network is trained only by
    :meth:`meta_step` (run by ``LMCLMetaHook``). Only final-stage embeddings update the memory banks;
    branches, aggregators and the weight network live outside ``members.<i>`` and are not exported.
    With every contrastive weight at 0 (v1 only) it is the branches-only ablation: stage classifiers trained
    by CE, no embedding heads, no bank.

    Args:
        members (dict or list[dict]): Member configs, see :class:`CohortClassifier`.
        branches (dict or list[dict]): :class:`AuxiliaryBranches` config for every member, or a list with one
            per member (``stages``, ``taps``, ``depth``, ``tail``); ``type`` defaults to ``'AuxiliaryBranches'``;
            backbone, channels and classes are filled in, ``embed_head`` defaults to the members' embedding
            head (``None`` when contrast is off).
        mode (str): ``'v1'`` (same-stage contrast) or ``'v2'`` (weighted cross-stage contrast, aggregation,
            meta step). Defaults to ``'v1'``.
        num_members (int, optional): Cohort size when ``members`` is a single config. Defaults to None.
        embed_head (dict, optional): Per-member embedding head config, see :class:`MCL`. Defaults to None.
        loss (dict, optional): :class:`LayerwiseMCLLoss` options (``loss_weights``, ``tau``,
            ``kl_temperature``, ``compile``; ``mode`` comes from here). Defaults to None.
        memory (dict, optional): :class:`CohortMemoryBank` config (only final-stage embeddings update it);
            ``None`` selects the in-batch path. Defaults to None.
        shared_trunk (list[str], optional): Backbone sub-modules shared by all members, see
            :class:`CohortClassifier`. Defaults to None.
        aggregate_kd_weight (float): v2 only, weight of the KD from the aggregated logits
            (T = ``loss.kl_temperature``). Defaults to 1.0.
        weight_net (dict, optional): v2 only, :class:`LayerMatchWeightNet` options (``proj_dim``).
            Defaults to None.
        meta (dict, optional): v2 only, ``freq`` (batches of an epoch between meta steps, default 50),
            ``times`` (contrastive look-ahead steps, default 2) and ``lookahead`` (``'network'``, default:
            the network optimizer's own update; ``'authors'``: the authors' MetaSGD, momentum from zero and
            no Nesterov). Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config. Defaults to None (mmpretrain's
            ``ClsDataPreprocessor``).
        init_cfg (dict or list[dict], optional): Initialization config dict. Defaults to None.
    """

    loss_type = 'LayerwiseMCLLoss'

    def __init__(self,
                 members: Union[dict, Sequence[dict]],
                 branches: Union[dict, Sequence[dict]],
                 mode: str = 'v1',
                 num_members: Optional[int] = None,
                 embed_head: Optional[dict] = None,
                 loss: Optional[dict] = None,
                 memory: Optional[dict] = None,
                 shared_trunk: Optional[Sequence[str]] = None,
                 aggregate_kd_weight: float = 1.0,
                 weight_net: Optional[dict] = None,
                 meta: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        check_lmcl_mode(mode)  # the stage counts are checked once the branches exist
        super().__init__(
            members=members,
            num_members=num_members,
            embed_head=embed_head,
            loss=dict(loss or {}, mode=mode),
            memory=memory,
            shared_trunk=shared_trunk,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        # Every contrastive weight at 0 in v1 = the branches-only ablation: members with their auxiliary
        # classifiers trained independently (deep supervision, no contrast, no heads, no bank).
        self.contrast = self.loss_module.uses_contrast
        if not self.contrast and mode == 'v2':
            raise ConfigError('LMCL v2 weights contrastive terms; with every contrastive weight at 0 use mode="v1" '
                              '(the branches-only ablation)')
        self.mode = mode
        self.branches = nn.ModuleList(self._build_branches(branches, embed_head if self.contrast else None))
        self.num_stages = [b.num_branches + 1 for b in self.branches]
        check_lmcl_mode(mode, self.num_stages)
        self.aggregators = self.weight_net = None
        if mode == 'v2':
            self.aggregate_kd_weight = aggregate_kd_weight
            self._build_v2_modules(weight_net)
            self.meta_freq, self.meta_times, self.meta_lookahead = self._meta_settings(meta)
            self._steps_since_meta = 0

    def _build_v2_modules(self, weight_net: Optional[dict]) -> None:
        """v2: one :class:`StageAggregator` per member and the :class:`LayerMatchWeightNet`."""
        self.aggregators = nn.ModuleList(
            MODELS.build(dict(type='StageAggregator', in_channels=m.head.in_channels, num_stages=s))
            for m, s in zip(self.members, self.num_stages))
        self.weight_net = MODELS.build(
            dict(
                type='LayerMatchWeightNet',
                in_channels=[[m.head.in_channels] * s for m, s in zip(self.members, self.num_stages)],
                **(weight_net or {})))

    @staticmethod
    def _meta_settings(meta: Optional[dict]) -> Tuple[int, int, str]:
        """The checked ``meta`` options: ``(freq, times, lookahead)``, defaults 50, 2, ``'network'``."""
        meta = dict(meta or {})
        freq = int(meta.pop('freq', 50))
        times = int(meta.pop('times', 2))
        lookahead = meta.pop('lookahead', 'network')
        if meta or freq < 1 or times < 0:
            raise ConfigError(f'LMCL meta takes freq >= 1, times >= 0 and lookahead only, got extra '
                              f'{sorted(meta)} freq={freq} times={times}')
        if lookahead not in LOOKAHEADS:
            raise ConfigError(f'LMCL meta.lookahead must be one of {LOOKAHEADS}, got {lookahead!r}')
        return freq, times, lookahead

    def _build_branches(self, branches, embed_head: Optional[dict]) -> List[nn.Module]:
        """One :class:`AuxiliaryBranches` per member (a shared config is copied), built on its backbone."""
        configs = [copy.deepcopy(branches) for _ in self.members] if isinstance(branches, dict) else list(branches)
        if len(configs) != self.num_members:
            raise ConfigError(f'LMCL: {len(configs)} branch configs for {self.num_members} members')
        built = []
        for member, cfg in zip(self.members, configs):
            cfg = dict(cfg)
            cfg.setdefault('type', 'AuxiliaryBranches')
            # Stage embeddings are contrasted with the final ones: same head shape unless configured otherwise.
            head = {k: v for k, v in (embed_head or dict(type='ContrastEmbedHead')).items() if k != 'in_channels'}
            cfg.setdefault('embed_head', head if self.contrast else None)
            built.append(
                MODELS.build(
                    cfg,
                    default_args=dict(
                        backbone=member.backbone,
                        in_channels=member.head.in_channels,
                        num_classes=member.head.num_classes)))
        return built

    # ------------------------------------------------------------------ stage outputs
    def _stage_outputs(self, inputs: Tensor, embed: bool = True):
        """``feats[i][k]`` (pooled), ``logits[i][k]`` and ``views[i][k]`` (embeddings) of every stage."""
        embed = embed and self.contrast
        feats, logits, views = [], [], []
        for i, member in enumerate(self.members):
            with capture_stage_outputs(member.backbone, self.branches[i].taps) as tapped:
                member_feats = member.extract_feat(inputs)
            f, z, v = self.branches[i](tapped, embed=embed)
            final = member.head.pre_logits(member_feats)
            f.append(final)
            z.append(member.head(member_feats))
            if embed:
                v.append(self.embed_heads[i](final))
            feats.append(f)
            logits.append(z)
            views.append(v)
        return feats, logits, views

    def forward(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None, mode: str = 'tensor'):
        # The meta step evaluates these two objectives through torch.func.functional_call.
        if mode == 'meta_inner':
            return self._weighted_contrast_objective(inputs, data_samples)
        if mode == 'meta_outer':
            return self._stage_ce_objective(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def _ce(self, member_idx: int, logits: Tensor, data_samples: List[DataSample]) -> Tensor:
        """The member head's classification loss (its CE config: label smoothing etc.) on any logits."""
        return self.members[member_idx].head._get_loss(logits, data_samples)['loss']

    # ------------------------------------------------------------------ training
    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> Dict[str, Tensor]:
        if self.mode == 'v2':
            self._check_meta_hook()
        feats, logits, views = self._stage_outputs(inputs)
        losses = {}
        for i in range(self.num_members):
            for k, stage_logits in enumerate(logits[i]):
                suffix = '' if k == len(logits[i]) - 1 else f'_{stage_label(k, len(logits[i]))}'
                losses[f'loss_ce_m{i}{suffix}'] = self._ce(i, stage_logits, data_samples)

        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        indices, bank = self._bank_inputs(data_samples, labels)
        pair_weights = None
        if self.mode == 'v2':
            with torch.no_grad():  # the weight network is frozen in ordinary steps
                pair_weights = self.weight_net(feats)
            aggregated = [agg(f, z) for agg, f, z in zip(self.aggregators, feats, logits)]
            for i, agg_logits in enumerate(aggregated):
                losses[f'loss_ce_m{i}_aggregate'] = self._ce(i, agg_logits, data_samples)
            kd = sum(
                kl_div_with_temperature(member_logits[-1], teacher, self.loss_module.kl_temperature).mean()
                for member_logits in logits for teacher in aggregated)  # teacher detached inside
            losses['loss_kd_aggregate'] = self.aggregate_kd_weight * kd
            losses['pair_weight_mean'] = pair_weights.mean()  # logged only (no "loss" in the key)
        if self.contrast:
            losses.update(self.loss_module(views, labels, pair_weights, **bank))
        if self.memory is not None:
            self.memory.update(indices, [member_views[-1] for member_views in views])
        return losses

    def _check_meta_hook(self) -> None:
        if self.training:
            self._steps_since_meta += 1
            if self._steps_since_meta > 2 * self.meta_freq + 1:
                raise RuntimeError(f'LMCL v2: no meta step in {self._steps_since_meta - 1} iterations (meta.freq='
                                   f'{self.meta_freq}), so the layer-matching weights never learn; add '
                                   "custom_hooks=[dict(type='LMCLMetaHook', ...)] to the config")

    # ------------------------------------------------------------------ meta-optimisation (v2)
    def _weighted_contrast_objective(self, inputs: Tensor, data_samples: List[DataSample]) -> Tensor:
        """Inner objective: the weighted contrastive loss, weights from the (trainable) weight network. On the
        bank path it contrasts against the positives / negatives the ordinary step drew (as the authors)."""
        feats, _, views = self._stage_outputs(inputs)
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        _, bank = self._bank_inputs(data_samples, labels, previous_step=True)
        return sum(self.loss_module(views, labels, self.weight_net(feats), allow_compile=False, **bank).values())

    def _stage_ce_objective(self, inputs: Tensor, data_samples: List[DataSample]) -> Tensor:
        """Outer objective: CE summed over every stage classifier of every member."""
        _, logits, _ = self._stage_outputs(inputs, embed=False)
        return sum(self._ce(i, z, data_samples) for i, member_logits in enumerate(logits) for z in member_logits)

    def meta_gradients(self, inputs: Tensor, data_samples: List[DataSample],
                       network_optimizer: torch.optim.Optimizer) -> Tuple[List[Tensor], Dict[str, float]]:
        """d(stage CE after the look-ahead) / d(weight network), on this process's batch (docs/method.md §3).

        From the current network θ: ``times`` look-ahead steps of the network optimizer's own SGD update
        (its lr, momentum buffers, weight decay, Nesterov; with ``meta.lookahead='authors'`` momentum from
        zero and no Nesterov, as the authors' MetaSGD) on the weighted contrastive objective, one on
        the stage CE, then the stage CE at the look-ahead point is differentiated with respect to the
        weight network φ through all of those steps (second order). The look-ahead is functional
        (``torch.func.functional_call`` over new tensors, batch-norm statistics on copies), so the network,
        its buffers and its optimizer state are never written: the rollback is exact by construction.
        Runs with autocast off.

        Returns:
            one gradient per weight-network parameter (``weight_net.parameters()`` order) and scalars to log.
        """
        if self.mode != 'v2':
            raise RuntimeError('LMCL meta-optimisation is for mode="v2"')
        net_named = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        net_names = [n for n, _ in net_named]
        settings, momenta = sgd_hyperparams(network_optimizer, [p for _, p in net_named])
        if self.meta_lookahead == 'authors':
            settings = [dict(s, nesterov=False, dampening=0) for s in settings]
            momenta = [None] * len(momenta)
        theta = [p.detach().requires_grad_() for _, p in net_named]
        phi_named = list(self.weight_net.named_parameters(prefix='weight_net'))
        phi = [p.detach().clone().requires_grad_() for _, p in phi_named]
        # Batch-norm statistics move during the look-ahead: on copies. The banks are only read.
        buffers = {n: b.clone() for n, b in self.named_buffers() if not n.startswith('memory.')}
        phi_tensors = {n: t for (n, _), t in zip(phi_named, phi)}

        def objective(mode: str, params: List[Tensor]) -> Tensor:
            tensors = {**dict(zip(net_names, params)), **phi_tensors, **buffers}
            return functional_call(self, tensors, (inputs, data_samples, mode))

        with torch.autocast(device_type=inputs.device.type, enabled=False):
            inner = []
            for _ in range(self.meta_times):
                loss = objective('meta_inner', theta)
                inner.append(float(loss.detach()))
                grads = torch.autograd.grad(loss, theta, create_graph=True, allow_unused=True)
                theta, momenta = sgd_lookahead_step(theta, grads, momenta, settings)
            ce = objective('meta_outer', theta)
            grads = torch.autograd.grad(ce, theta, create_graph=True, allow_unused=True)
            theta, momenta = sgd_lookahead_step(theta, grads, momenta, settings)
            outer = objective('meta_outer', theta)
            phi_grads = torch.autograd.grad(outer, phi, allow_unused=True)
        phi_grads = [torch.zeros_like(p) if g is None else g.detach() for p, g in zip(phi, phi_grads)]
        logs = dict(
            meta_inner_loss=inner[0] if inner else float('nan'),
            meta_ce_lookahead=float(ce.detach()),
            meta_ce_outer=float(outer.detach()))
        return phi_grads, logs

    def meta_step(self, data: dict, network_optimizer: torch.optim.Optimizer, weight_optim_wrapper) -> Dict[str, float]:
        """One meta update of the weight network: :meth:`meta_gradients`, averaged over DDP ranks, then a
        step of its optimizer. Nothing else changes.

        Under DDP each rank looks ahead from the (synchronised) network on its own batch; only φ's gradient
        is all-reduced (mean), so every rank keeps the same φ. No other communication happens.
        """
        data = self.data_preprocessor(data, True)
        grads, logs = self.meta_gradients(data['inputs'], data['data_samples'], network_optimizer)
        for p, g in zip(self.weight_net.parameters(), grads):
            if get_world_size() > 1:
                all_reduce(g, op='mean')
            p.grad = g
        weight_optim_wrapper.step()
        weight_optim_wrapper.zero_grad()
        self._steps_since_meta = 0
        return logs

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """As :meth:`MCL.predict` (ensemble of the members' final classifiers), plus ``stage_scores`` (per
        member, the auxiliary classifiers' softmaxes) and, in v2, ``aggregate_scores`` (M, C)."""
        feats, logits, _ = self._stage_outputs(inputs, embed=False)
        data_samples = self.pack_predictions([z[-1] for z in logits], data_samples)
        stages = [torch.stack([z.softmax(1) for z in member[:-1]], dim=1) for member in logits]  # M x (B, S-1, C)
        aggregate = None
        if self.mode == 'v2':
            aggregate = torch.stack([agg(f, z).softmax(1) for agg, f, z in zip(self.aggregators, feats, logits)], dim=1)
        for b, sample in enumerate(data_samples):
            sample.set_field([member_stages[b] for member_stages in stages], 'stage_scores')
            if aggregate is not None:
                sample.set_field(aggregate[b], 'aggregate_scores', dtype=torch.Tensor)
        return data_samples
