"""L-MCL: branches, stage-wise losses against naive references, the meta step (rollback, finite differences),
the v2 objective's pieces, configs and guards."""
import copy
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from helpers import REPO
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from test_losses import TAU, _kl, naive_inbatch_losses, naive_memory_losses

from mcl_mm.engine.hooks import LMCLMetaHook
from mcl_mm.models.heads import capture_stage_outputs
from mcl_mm.models.losses import layerwise_contrast_losses
from mcl_mm.models.utils import cross_member_pairs
from mcl_mm.registry import MODELS

init_default_scope('mcl_mm')

LMCL_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'lmcl', 'lmcl-*.py')))
TERMS = ('vcl', 'soft_vcl', 'icl', 'soft_icl')


def _samples(labels, indices=None):
    indices = range(len(labels)) if indices is None else indices
    return [DataSample(metainfo=dict(sample_idx=int(i))).set_gt_label(int(y)) for i, y in zip(indices, labels)]


def _tiny_lmcl(mode='v2', memory=None, base_channels=4, depth=8, **kwargs):
    member = dict(
        backbone=dict(type='CifarResNet', depth=depth, base_channels=base_channels),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=4 * base_channels, topk=(1, )))
    cfg = dict(
        type='LMCL',
        mode=mode,
        members=member,
        num_members=2,
        loss=dict(tau=0.1),
        memory=memory,
        branches=dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2')),
        embed_head=dict(type='ContrastEmbedHead', hid_channels=8, out_channels=8))
    cfg.update(kwargs)
    if mode == 'v2':
        cfg.setdefault('meta', dict(freq=1, times=2))
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


# ---------------------------------------------------------------- configs
def test_config_inventory():
    names = {osp.basename(p) for p in LMCL_CONFIGS}
    for mode in ('v1', 'v2'):
        for net in ('resnet32', 'resnet56', 'resnet110', 'wrn16-2', 'wrn40-2'):
            assert f'lmcl-{mode}_{net}x2_1xb128-300e_cifar100.py' in names
        assert f'lmcl-{mode}_resnet32-wrn40-2_1xb128-300e_cifar100.py' in names
        for net in ('resnet18x2', 'resnet34x2', 'resnet50x2', 'resnet18-resnet50', 'shufflenetv2-1.0x2',
                    'shufflenetv2-1.0-resnet18', 'shufflenetv2-1.0-resnet50'):
            assert f'lmcl-{mode}_{net}_8xb32-100e_in1k.py' in names
        # The authors' CIFAR-100 table rows (homogeneous ShuffleNetV2 / HCGNet and the heterogeneous pairs).
        for net in ('shufflenetv2-0.5x2', 'shufflenetv2-1.0x2', 'hcgnet-a1x2', 'hcgnet-a2x2', 'resnet32-resnet110',
                    'resnet56-resnet110', 'wrn16-2-wrn40-2', 'wrn40-2-wrn28-4', 'resnet56-wrn40-2', 'resnet110-wrn28-4',
                    'shufflenetv2-1.0-resnet110', 'shufflenetv2-1.0-wrn40-2'):
            assert f'lmcl-{mode}_{net}_1xb128-300e_cifar100.py' in names
    assert len(names) == 50


@pytest.mark.parametrize('path', LMCL_CONFIGS, ids=osp.basename)
def test_every_lmcl_config_builds_and_computes_its_loss(path):
    cfg = Config.fromfile(path)
    imagenet = 'in1k' in path
    if imagenet:
        cfg.model.memory.num_samples = 8
        cfg.model.memory.neg_k = 4
    model = MODELS.build(cfg.model).train()
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    v2 = '/lmcl-v2_' in path
    assert model.mode == ('v2' if v2 else 'v1')
    assert ('LMCLMetaHook' in hooks) == v2 and ('CohortMemoryHook' in hooks) == imagenet
    assert model.num_stages == ([4, 4] if imagenet else [3, 3])
    if v2:
        assert not any(p.requires_grad for p in model.weight_net.parameters())
        if imagenet:
            assert model.loss_module.loss_weights['vcl'] == model.loss_module.loss_weights['icl'] == 0.01
    size = 64 if imagenet else 32
    inputs = torch.randn(4, 3, size, size)
    samples = _samples([0, 0, 1, 1])
    if imagenet:
        model.memory.set_labels(torch.tensor([0, 0, 1, 1, 0, 1, 0, 1]))
    losses = model.loss(inputs, samples)
    last = 'final'
    expected = {f'loss_ce_m{i}{s}' for i in range(2) for s in ['', '_s1', '_s2'] + (['_s3'] if imagenet else [])}
    if v2:
        expected |= {'loss_ce_m0_aggregate', 'loss_ce_m1_aggregate', 'loss_kd_aggregate', 'pair_weight_mean'}
        expected |= {f'loss_{t}' for t in TERMS}
    else:
        expected |= {f'loss_{t}_{s}' for t in TERMS for s in ['s1', 's2', last] + (['s3'] if imagenet else [])}
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values())


# ---------------------------------------------------------------- branches
BACKBONES = {
    'resnet18-first_block': (dict(type='ResNet', depth=18), ('layer1', 'layer2', 'layer3', 'layer4'),
                             ('layer1', 'layer2', 'layer3'), 'first_block', (), 512, 64),
    'cifar_resnet14-full': (dict(type='CifarResNet',
                                 depth=14), ('layer1', 'layer2', 'layer3'), ('layer1', 'layer2'), 'full', (), 64, 32),
    'wrn16-2-tail': (dict(type='WideResNet', depth=16, widen_factor=2), ('layer1', 'layer2', 'layer3'),
                     ('layer1', 'layer2'), 'full', ('bn_final', 'relu_final'), 128, 32),
    'shufflenetv2-cifar': (dict(type='CifarShuffleNetV2',
                                widen_factor=0.5), ('layers.0', 'layers.1', 'layers.2', 'layers.3'),
                           ('layers.0', 'layers.1'), 'full', (), 1024, 32),
    # A narrow HCGNet (A1 / A2 themselves: tests/test_configs/test_fidelity.py): each stage ends with its transition.
    'hcgnet-tail': (dict(type='HCGNet', growth_rate=(4, 8, 8), blocks=(2, 2, 2)), ('layer1', 'layer2', 'layer3'),
                    ('layer1', 'layer2'), 'full', ('bn_final', 'relu_final'), 28, 32),
}


@pytest.mark.parametrize('name', list(BACKBONES))
def test_branches_shapes_fresh_parameters_and_gradient_paths(name):
    bb_cfg, stages, taps, depth, tail, channels, size = BACKBONES[name]
    torch.manual_seed(0)
    backbone = MODELS.build(bb_cfg)
    backbone.init_weights()
    branches = MODELS.build(
        dict(
            type='AuxiliaryBranches',
            stages=stages,
            taps=taps,
            depth=depth,
            tail=tail,
            in_channels=channels,
            num_classes=10),
        default_args=dict(backbone=backbone))
    branches.init_weights()
    x = torch.randn(3, 3, size, size)
    with capture_stage_outputs(backbone, taps) as tapped:
        backbone(x)
    feats, logits, embeddings = branches(tapped)
    assert [tuple(f.shape) for f in feats] == [(3, channels)] * len(taps)
    assert [tuple(z.shape) for z in logits] == [(3, 10)] * len(taps)
    assert all(torch.allclose(v.norm(dim=1), torch.ones(3), atol=1e-6) for v in embeddings)

    # Nothing shared with the trunk, and the copies are re-initialised (not the trunk's values).
    trunk_ptrs = {p.data_ptr() for p in backbone.parameters()}
    assert not trunk_ptrs & {p.data_ptr() for p in branches.parameters()}
    last_trunk_conv = [m for m in backbone.get_submodule(stages[-1]).modules() if isinstance(m, torch.nn.Conv2d)][0]
    last_stage_copy = branches.branches[-1][len(branches.branches[-1]) - 1 - len(tail)]
    last_branch_conv = [m for m in last_stage_copy.modules() if isinstance(m, torch.nn.Conv2d)][0]
    assert last_trunk_conv.weight.shape == last_branch_conv.weight.shape
    assert not torch.equal(last_trunk_conv.weight, last_branch_conv.weight)

    # Depth: the branch after the first tap holds one copy per remaining stage (+ tail); first_block copies
    # hold a single block, full copies the whole stage.
    first = branches.branches[0]
    assert len(first) == len(stages) - 1 + len(tail)
    remaining = [backbone.get_submodule(s) for s in stages[1:]]
    for copy_, original in zip(first, remaining):
        if depth == 'first_block':
            assert type(copy_) is type(original[0])
        else:
            assert type(copy_) is type(original) and len(list(copy_.children())) == len(list(original.children()))
    if tail:
        assert branches.branches[0](tapped[taps[0]]).min() >= 0  # ends with the copied BN-ReLU

    # A branch loss trains the trunk up to its tap and nothing after it.
    logits[0].sum().backward()
    assert sum(p.grad.abs().sum() for p in backbone.get_submodule(taps[0]).parameters()) > 0
    after_tap = [backbone.get_submodule(s) for s in stages[stages.index(taps[0]) + 1:]]
    assert all(p.grad is None for m in after_tap for p in m.parameters())


def test_branch_configuration_errors_are_clear():
    backbone = MODELS.build(dict(type='CifarResNet', depth=8))
    with pytest.raises(ValueError, match='before the last one'):
        MODELS.build(
            dict(
                type='AuxiliaryBranches',
                stages=('layer1', 'layer2', 'layer3'),
                taps=('layer3', ),
                in_channels=64,
                num_classes=4),
            default_args=dict(backbone=backbone))
    with pytest.raises(ValueError, match="no stage 'stage9'"):
        MODELS.build(
            dict(
                type='AuxiliaryBranches', stages=('layer1', 'stage9'), taps=('layer1', ), in_channels=64,
                num_classes=4),
            default_args=dict(backbone=backbone))
    with pytest.raises(ValueError, match='depth must be one of'):
        MODELS.build(
            dict(
                type='AuxiliaryBranches',
                stages=('layer1', 'layer2'),
                taps=('layer1', ),
                depth='half',
                in_channels=64,
                num_classes=4),
            default_args=dict(backbone=backbone))
    with pytest.raises(ValueError, match='same number of taps'):
        _tiny_lmcl(
            'v1',
            branches=[
                dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', )),
                dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2'))
            ])


# The authors' lmcl_ShuffleNetV2_1x_imagenet Auxiliary_Classifier, per branch before pooling (classifiers
# excluded): the stem branch's two blocks of each stage, the full stages 2-3, the full stage 3; each + the 1x1 conv.
AUTHORS_IN1K_SHUFFLENET_BRANCH_PARAMS = [843_544, 1_222_716, 978_536]


def test_imagenet_shufflenetv2_branches_are_the_authors():
    """Taps after the stem, stage 1, stage 2; per-tap depth (2 blocks per stage, full, full); each branch ends
    with the 1x1 conv to 1024 at the main path's resolution; PyTorch default init (init_weights leaves it)."""
    from mmpretrain.models.backbones.shufflenet_v2 import InvertedResidual
    spec = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models', 'in1k_members.py')).shufflenet_branches
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='ShuffleNetV2', widen_factor=1.0))
    branches = MODELS.build(
        dict(spec, type='AuxiliaryBranches', in_channels=1024, num_classes=1000), default_args=dict(backbone=backbone))
    assert branches.taps == ('maxpool', 'layers.0', 'layers.1')
    blocks = [[len(m) if isinstance(m, torch.nn.Sequential) else type(m).__name__ for m in b]
              for b in branches.branches]
    assert blocks == [[2, 2, 2, 'ConvModule'], [8, 4, 'ConvModule'], [4, 'ConvModule']]
    assert all(isinstance(blk, InvertedResidual) for b in branches.branches for m in b[:-1] for blk in m)
    assert [sum(p.numel() for p in b.parameters()) for b in branches.branches] == AUTHORS_IN1K_SHUFFLENET_BRANCH_PARAMS
    assert [tuple(c.weight.shape) for c in branches.classifiers] == [(1000, 1024)] * 3

    before = {k: v.clone() for k, v in branches.state_dict().items()}
    branches.init_weights()
    assert all(torch.equal(before[k], v) for k, v in branches.state_dict().items())

    x = torch.randn(2, 3, 224, 224)
    with capture_stage_outputs(backbone, branches.taps) as tapped:
        final = backbone(x)[0]
    assert [tuple(tapped[t].shape[1:]) for t in branches.taps] == [(24, 56, 56), (116, 28, 28), (232, 14, 14)]
    assert tuple(final.shape) == (2, 1024, 7, 7)
    assert all(tuple(b(tapped[t]).shape) == (2, 1024, 7, 7) for t, b in zip(branches.taps, branches.branches))
    feats, logits, embeddings = branches(tapped)
    assert [tuple(f.shape) for f in feats] == [(2, 1024)] * 3 and [tuple(z.shape) for z in logits] == [(2, 1000)] * 3

    with pytest.raises(ValueError, match='2 depths'):
        MODELS.build(
            dict(spec, type='AuxiliaryBranches', depth=(2, 'full'), in_channels=1024, num_classes=10),
            default_args=dict(backbone=backbone))
    with pytest.raises(ValueError, match='depth must be one of'):
        MODELS.build(
            dict(spec, type='AuxiliaryBranches', depth=0, in_channels=1024, num_classes=10),
            default_args=dict(backbone=backbone))


# ---------------------------------------------------------------- stage-wise losses vs naive references
def _unit(*shape, g):
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def _views(stages, B, D, g):
    return [[_unit(B, D, g=g).requires_grad_() for _ in range(s)] for s in stages]


def _flat(views):
    return [v for member in views for v in member]


def _assert_terms_match(fast, naive, params):
    for key in TERMS:
        assert torch.allclose(fast[key], naive[key], atol=1e-8, rtol=1e-6), (key, fast[key], naive[key])
        g_fast = torch.autograd.grad(fast[key], params, retain_graph=True, allow_unused=True)
        g_naive = torch.autograd.grad(naive[key], params, retain_graph=True, allow_unused=True)
        for gf, gn in zip(g_fast, g_naive):
            gf = torch.zeros(1, dtype=torch.float64) if gf is None else gf
            gn = torch.zeros(1, dtype=torch.float64) if gn is None else gn
            assert torch.allclose(gf, gn, atol=1e-8, rtol=1e-6), key


def _bank_inputs(B, N, g, pos_k=1, neg_k=5):
    pos_idx = torch.cat([torch.arange(B).view(-1, 1), torch.randint(0, N, (B, pos_k), generator=g)], 1)
    return pos_idx, torch.randint(0, N, (B, neg_k), generator=g)


@pytest.mark.parametrize('num_members', [2, 3])
@pytest.mark.parametrize('path', ['inbatch', 'bank'])
def test_v1_is_mcl_per_stage(num_members, path):
    g = torch.Generator().manual_seed(num_members)
    B, D, N, S = 6, 8, 30, 3
    views = _views([S] * num_members, B, D, g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    if path == 'bank':
        banks = [_unit(N, D, g=g) for _ in range(num_members)]
        pos_idx, neg_idx = _bank_inputs(B, N, g)
        fast = layerwise_contrast_losses(
            views, labels, 'v1', TAU, 3.0, memories=banks, pos_idx=pos_idx, neg_idx=neg_idx)
    else:
        fast = layerwise_contrast_losses(views, labels, 'v1', 0.1, 3.0)
    assert len(fast) == S
    for k in range(S):
        stage = [views[i][k] for i in range(num_members)]
        if path == 'bank':
            naive = naive_memory_losses(stage, banks, pos_idx, neg_idx)  # member i's stage k against bank i
        else:
            naive = naive_inbatch_losses(stage, labels, 0.1)
        _assert_terms_match(fast[k], naive, _flat(views))


@pytest.mark.parametrize('stages', [[3, 2], [2, 2, 2]])
@pytest.mark.parametrize('path', ['inbatch', 'bank'])
def test_v2_is_weighted_mcl_over_every_cross_member_stage_pair(stages, path):
    g = torch.Generator().manual_seed(len(stages) * 10 + stages[0])
    B, D, N = 6, 8, 30
    views = _views(stages, B, D, g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    pairs = cross_member_pairs(stages)
    assert len(pairs) == sum(si * sj for i, si in enumerate(stages) for j, sj in enumerate(stages) if i != j)
    weights = torch.rand(len(pairs), B, generator=g, dtype=torch.float64)
    kwargs = {}
    if path == 'bank':
        banks = [_unit(N, D, g=g) for _ in stages]
        pos_idx, neg_idx = _bank_inputs(B, N, g)
        kwargs = dict(memories=banks, pos_idx=pos_idx, neg_idx=neg_idx)
    tau = TAU if path == 'bank' else 0.1
    fast = layerwise_contrast_losses(views, labels, 'v2', tau, 3.0, pair_weights=weights, **kwargs)
    naive = {key: 0.0 for key in TERMS}
    for w, ((i, k), (j, z)) in zip(weights, pairs):
        pair = [views[i][k], views[j][z]]
        if path == 'bank':
            terms = naive_memory_losses(pair, [banks[i], banks[j]], pos_idx, neg_idx, weights=w)
        else:
            terms = naive_inbatch_losses(pair, labels, tau, weights=w)
        naive = {key: naive[key] + terms[key] for key in TERMS}
    _assert_terms_match(fast, naive, _flat(views))


def test_v2_needs_pair_weights_of_the_right_shape():
    g = torch.Generator().manual_seed(0)
    views = _views([2, 2], 4, 8, g)
    with pytest.raises(ValueError, match=r'pair_weights of shape \(8, B\)'):
        layerwise_contrast_losses(views, torch.tensor([0, 0, 1, 1]), 'v2', 0.1, pair_weights=torch.ones(3, 4))


def test_weight_network_and_aggregator_against_loops():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='LayerMatchWeightNet', in_channels=[[4, 4], [6, 6, 6]], proj_dim=5))
    feats = [[torch.randn(3, 4) for _ in range(2)], [torch.randn(3, 6) for _ in range(3)]]
    weights = net(feats)
    pairs = cross_member_pairs([2, 3])
    assert weights.shape == (len(pairs), 3)
    for p, ((i, k), (j, z)) in enumerate(pairs):
        for b in range(3):
            a = net.projections[i][k](feats[i][k][b])
            c = net.projections[j][z](feats[j][z][b])
            expected = torch.sigmoid(torch.dot(a, c) / (a.norm() * c.norm()))
            assert torch.allclose(weights[p, b], expected, atol=1e-6)

    agg = MODELS.build(dict(type='StageAggregator', in_channels=4, num_stages=3))
    stage_feats = [torch.randn(2, 4) for _ in range(3)]
    stage_logits = [torch.randn(2, 5) for _ in range(3)]
    out = agg(stage_feats, stage_logits)
    for b in range(2):
        mix = torch.softmax(agg.gate(torch.cat([f[b] for f in stage_feats])), 0)
        assert torch.allclose(out[b], sum(mix[s] * stage_logits[s][b] for s in range(3)), atol=1e-6)


def test_v2_loss_pieces_and_bank_update_from_final_stage_only():
    torch.manual_seed(0)
    model = _tiny_lmcl('v2', memory=dict(num_samples=16, neg_k=4, momentum=0.5))
    model.memory.set_labels(torch.arange(16) % 4)
    x = torch.randn(8, 3, 16, 16)
    indices = [3, 7, 0, 4, 1, 5, 2, 6]
    samples = _samples([i % 4 for i in indices], indices)
    feats, logits, views = model._stage_outputs(x)  # BN in train mode: outputs depend on the batch only
    banks_before = model.memory.banks.clone()
    losses = model.loss(x, samples)

    aggregated = [agg(f, z) for agg, f, z in zip(model.aggregators, feats, logits)]
    kd = sum(_kl(logits[i][-1][b], aggregated[j][b]) / 8 for i in range(2) for j in range(2) for b in range(8))
    assert torch.allclose(losses['loss_kd_aggregate'], kd, atol=1e-5)
    for i in range(2):
        ce = F.cross_entropy(aggregated[i], torch.tensor([s.gt_label.item() for s in samples]))
        assert torch.allclose(losses[f'loss_ce_m{i}_aggregate'], ce, atol=1e-5)
    weights = model.weight_net(feats)
    assert torch.allclose(losses['pair_weight_mean'], weights.mean(), atol=1e-6)

    # Only the anchors' slots move, towards the *final-stage* embeddings.
    idx = torch.tensor(indices)
    for i in range(2):
        expected = F.normalize(0.5 * banks_before[i, idx] + 0.5 * views[i][-1].detach(), dim=1)
        assert torch.allclose(model.memory.banks[i, idx], expected, atol=1e-5)
    untouched = torch.tensor([n for n in range(16) if n not in indices])
    assert torch.equal(model.memory.banks[:, untouched], banks_before[:, untouched])

    # The meta step's contrast reuses the ordinary step's draws (the authors'), not a fresh one.
    model.memory.num_updates -= 1
    ordinary = model.memory.sample(idx, idx % 4)
    model.memory.num_updates += 1
    labels = idx % 4
    _, reused = model._bank_inputs(samples, labels, previous_step=True)
    _, fresh = model._bank_inputs(samples, labels)
    assert torch.equal(reused['neg_idx'], ordinary[1]) and torch.equal(reused['pos_idx'], ordinary[0])
    assert not torch.equal(fresh['neg_idx'], ordinary[1])


# ---------------------------------------------------------------- meta step
def _meta_data(model, batch=8, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(batch)]
    return dict(inputs=images, data_samples=_samples([i % 4 for i in range(batch)]))


def _network_optimizer(model):
    return OptimWrapper(
        torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                        lr=0.05,
                        momentum=0.9,
                        weight_decay=5e-4,
                        nesterov=True))


@pytest.mark.parametrize('memory', [None, dict(num_samples=8, neg_k=4)], ids=['inbatch', 'bank'])
def test_meta_step_changes_only_the_weight_network(memory):
    torch.manual_seed(0)
    model = _tiny_lmcl('v2', memory=memory)
    if memory:
        model.memory.set_labels(torch.arange(8) % 4)
    wrapper = _network_optimizer(model)
    data = _meta_data(model)
    model.train_step(data, wrapper)  # momentum buffers exist now, BN statistics moved
    state = copy.deepcopy(model.state_dict())
    optim_state = copy.deepcopy(wrapper.optimizer.state_dict())
    weight_optim = OptimWrapper(torch.optim.SGD(model.weight_net.parameters(), lr=0.1, momentum=0.9))
    logs = model.meta_step(data, wrapper.optimizer, weight_optim)
    assert set(logs) == {'meta_inner_loss', 'meta_ce_lookahead', 'meta_ce_outer'}

    after = model.state_dict()
    changed = {k for k in state if not torch.equal(state[k], after[k])}
    assert changed == {k for k in state if k.startswith('weight_net.')}
    new_optim_state = wrapper.optimizer.state_dict()
    assert new_optim_state['param_groups'] == optim_state['param_groups']
    for key, value in optim_state['state'].items():
        assert torch.equal(value['momentum_buffer'], new_optim_state['state'][key]['momentum_buffer'])
    assert all(p.grad is None for p in model.parameters())
    assert not any(p.requires_grad for p in model.weight_net.parameters())


@pytest.mark.parametrize('times,soft', [(1, 1.0), (2, 0.0)], ids=['times1-all-terms', 'times2-hard-terms'])
def test_meta_gradient_matches_finite_differences(times, soft):
    """The second-order meta-gradient equals the directional derivative of the look-ahead CE (float64).

    The Soft VCL / ICL targets are detached (as in ordinary steps and the authors' code), so from the second
    look-ahead step on their dependence on θ is outside the derivative; both cases here are exact by
    construction: one look-ahead step with every term, or two with the hard terms only.
    """
    torch.manual_seed(0)
    model = _tiny_lmcl(
        'v2',
        memory=None,
        base_channels=2,
        meta=dict(freq=1, times=times),
        loss=dict(tau=0.1, loss_weights=dict(soft_vcl=soft, soft_icl=soft))).double()
    wrapper = _network_optimizer(model)
    data = model.data_preprocessor(_meta_data(model, size=8), True)
    inputs, samples = data['inputs'].double(), data['data_samples']
    loss = sum(v for k, v in model.loss(inputs, samples).items() if 'loss' in k)
    loss.backward()
    wrapper.step()  # a real step first: the look-ahead then starts from non-zero momentum buffers
    wrapper.zero_grad()

    grads, _ = model.meta_gradients(inputs, samples, wrapper.optimizer)
    phi = list(model.weight_net.parameters())
    phi0 = [p.detach().clone() for p in phi]
    g = torch.Generator().manual_seed(1)
    eps = 1e-6
    for _ in range(2):
        direction = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in phi]
        values = []
        for sign in (1, -1):
            with torch.no_grad():
                for p, p0, d in zip(phi, phi0, direction):
                    p.copy_(p0 + sign * eps * d)
            values.append(model.meta_gradients(inputs, samples, wrapper.optimizer)[1]['meta_ce_outer'])
        with torch.no_grad():
            for p, p0 in zip(phi, phi0):
                p.copy_(p0)
        finite_difference = (values[0] - values[1]) / (2 * eps)
        analytic = sum((gr * d).sum() for gr, d in zip(grads, direction)).item()
        assert abs(analytic) > 1e-4
        assert abs(analytic - finite_difference) <= 1e-5 * abs(analytic), (analytic, finite_difference)


def test_v2_without_the_meta_hook_fails_clearly():
    model = _tiny_lmcl('v2', meta=dict(freq=1, times=1))
    x, samples = torch.randn(4, 3, 16, 16), _samples([0, 0, 1, 1])
    for _ in range(3):
        model.loss(x, samples)
    with pytest.raises(RuntimeError, match='LMCLMetaHook'):
        model.loss(x, samples)


def test_meta_hook_checks_the_model_and_round_trips_its_optimizer():
    hook = LMCLMetaHook(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    runner = SimpleNamespace(model=_tiny_lmcl('v1'))
    with pytest.raises(TypeError, match='mode="v2"'):
        hook.before_train(runner)

    model = _tiny_lmcl('v2')
    adam = OptimWrapper(torch.optim.Adam([p for p in model.parameters() if p.requires_grad]))
    with pytest.raises(TypeError, match='use SGD for L-MCL v2'):
        hook.before_train(SimpleNamespace(model=model, optim_wrapper=adam))
    wrapper = _network_optimizer(model)
    runner = SimpleNamespace(
        model=model, optim_wrapper=wrapper, iter=0, message_hub=SimpleNamespace(update_scalar=lambda *a: None))
    hook.before_train(runner)
    data = _meta_data(model)
    model.train_step(data, wrapper)
    hook.after_train_iter(runner, 0, data)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    saved = checkpoint['lmcl_meta']['weight_optimizer']
    assert len(saved['state']) == len(list(model.weight_net.parameters()))  # momentum buffers exist

    resumed = LMCLMetaHook(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    resumed.after_load_checkpoint(runner, checkpoint)  # before the optimizer exists: kept until before_train
    resumed.before_train(runner)
    restored = resumed.weight_optim.state_dict()['state']
    for key, value in saved['state'].items():
        assert torch.equal(value['momentum_buffer'], restored[key]['momentum_buffer'])


def test_metafile_lists_every_config():
    import yaml
    meta = yaml.safe_load(open(osp.join(REPO, 'configs', 'lmcl', 'metafile.yml')))
    listed = {m['Config'] for m in meta['Models']}
    assert listed == {osp.relpath(p, REPO) for p in LMCL_CONFIGS}
    assert all(osp.exists(osp.join(REPO, c)) for c in listed)


def test_branches_only_ablation_trains_stage_classifiers_without_contrast():
    model = _tiny_lmcl('v1', loss=dict(loss_weights=dict(vcl=0, icl=0, soft_vcl=0, soft_icl=0)))
    assert model.embed_heads is None and all(b.embed_heads is None for b in model.branches)
    losses = model.loss(torch.randn(4, 3, 16, 16), _samples([0, 0, 1, 1]))
    assert set(losses) == {f'loss_ce_m{i}{s}' for i in range(2) for s in ('', '_s1', '_s2')}
    with pytest.raises(ValueError, match='branches-only ablation'):
        _tiny_lmcl('v2', loss=dict(loss_weights=dict(vcl=0, icl=0, soft_vcl=0, soft_icl=0)))
    cfg = Config.fromfile(osp.join(REPO, 'configs/demo/lmcl-branches-only_resnet18w16x2_1xb32-15e_digits.py'))
    built = MODELS.build(cfg.model)
    assert built.memory is None and not built.contrast and cfg.custom_hooks == []


def test_meta_hook_counts_batches_within_the_epoch_like_the_authors():
    """Meta steps at batch_idx % freq == 0 of every epoch (the authors' counter), whatever the global iteration."""
    model = _tiny_lmcl('v2')
    model.meta_freq = 3
    calls = []
    model.meta_step = lambda data, *args: calls.append(data) or {}
    hook = LMCLMetaHook(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    wrapper = _network_optimizer(model)
    runner = SimpleNamespace(
        model=model, optim_wrapper=wrapper, iter=0, message_hub=SimpleNamespace(update_scalar=lambda *a: None))
    hook.before_train(runner)
    # Two epochs of 5 batches: global iterations 0..9, batch_idx 0..4 twice.
    for it in range(10):
        runner.iter = it
        hook.after_train_iter(runner, it % 5, data_batch=('batch', it))
    assert [batch[1] for batch in calls] == [0, 3, 5, 8]  # a global counter would give 0, 3, 6, 9


@pytest.mark.parametrize('lookahead', ['network', 'authors'])
def test_lookahead_equals_real_sgd_steps_on_a_copy(lookahead):
    """The functional look-ahead lands where torch.optim.SGD would: 'network' continues the network optimizer
    (its momentum buffers, Nesterov), 'authors' is a fresh SGD(momentum 0.9, no Nesterov) as the authors'
    MetaSGD. Reference: real optimizer steps on a deep copy of the model."""
    import copy
    torch.manual_seed(0)
    model = _tiny_lmcl('v2', memory=None, meta=dict(freq=1, times=2, lookahead=lookahead)).double()
    wrapper = _network_optimizer(model)
    data = model.data_preprocessor(_meta_data(model, size=8), True)
    inputs, samples = data['inputs'].double(), data['data_samples']
    sum(v for k, v in model.loss(inputs, samples).items() if 'loss' in k).backward()
    wrapper.step()  # non-zero momentum buffers in the network optimizer
    wrapper.zero_grad()
    _, logs = model.meta_gradients(inputs, samples, wrapper.optimizer)

    twin = copy.deepcopy(model)
    params = [p for p in twin.parameters() if p.requires_grad]
    group = wrapper.optimizer.param_groups[0]
    optimizer = torch.optim.SGD(
        params, lr=group['lr'], momentum=0.9, weight_decay=group['weight_decay'], nesterov=lookahead == 'network')
    if lookahead == 'network':  # continue from the network optimizer's buffers
        optimizer.load_state_dict(wrapper.optimizer.state_dict())
    for mode in ['meta_inner'] * 2 + ['meta_outer']:
        optimizer.zero_grad()
        twin(inputs, samples, mode).backward()
        for p in twin.weight_net.parameters():
            p.grad = None  # the look-ahead moves the network only
        optimizer.step()
    assert twin(inputs, samples, 'meta_outer').item() == pytest.approx(logs['meta_ce_outer'], rel=1e-9)
    with pytest.raises(ValueError, match='lookahead'):
        _tiny_lmcl('v2', meta=dict(freq=1, times=1, lookahead='adam'))


def test_the_layerwise_loss_module_owns_its_weights_and_temperatures():
    """LayerwiseMCLLoss, L-MCL's registered loss (as MCLLoss for MCL): its weights and tau give weight x the
    naive per-stage MCL terms, keyed by stage; logit KD is refused."""
    from mcl_mm.utils.errors import ConfigError
    g = torch.Generator().manual_seed(5)
    views = _views([3, 3], 6, 8, g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    weights = dict(vcl=0.3, icl=0.2, soft_vcl=0.7, soft_icl=1.5)
    loss = MODELS.build(dict(type='LayerwiseMCLLoss', mode='v1', loss_weights=weights, tau=0.2, kl_temperature=3.0))
    got = loss(views, labels)
    assert set(got) == {f'loss_{t}_{s}' for t in weights for s in ('s1', 's2', 'final')}
    for k, stage in enumerate(('s1', 's2', 'final')):
        naive = naive_inbatch_losses([views[0][k], views[1][k]], labels, 0.2)  # T = 3 in the reference
        for term, w in weights.items():
            assert got[f'loss_{term}_{stage}'].item() == pytest.approx(w * float(naive[term]), rel=1e-6), (term, stage)
    with pytest.raises(ConfigError, match='not part of L-MCL'):
        MODELS.build(dict(type='LayerwiseMCLLoss', loss_weights=dict(kd=1.0)))
    model_loss = MODELS.build(dict(type='LayerwiseMCLLoss', mode='v2'))
    assert model_loss.kl_temperature == 3.0 and model_loss.tau == 0.07
