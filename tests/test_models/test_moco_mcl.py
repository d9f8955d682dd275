"""Self-supervised MCL on MoCo cohorts: the loss against a naive per-sample reference (values and gradients), the
algorithm's key encoders and queues step by step, the MoCo x2 baseline against mmpretrain's own MoCo, 2-process
gloo DDP, resume through tools/train.py, and the export of a member's query backbone into mmdet / mmseg."""
import copy
import glob
import os
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from helpers import FOLDER_LOADERS, REPO, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mcl_mm.models.losses import MoCoMCLLoss, moco_contrast_losses
from mcl_mm.registry import MODELS

init_default_scope('mcl_mm')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny models: one intra-op thread is faster than several (and than contending for shared cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TAU, T = 0.07, 3.0
TERMS = ('vcl', 'soft_vcl', 'icl', 'soft_icl')
CONFIG_DIR = osp.join(REPO, 'configs', 'moco_mcl')
PRETRAIN_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
BENCHMARK_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'benchmarks', '*.py')))


# ------------------------------------------------------------------------------------------------ the loss
def _kl(student, teacher):
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)) for one row, the teacher detached."""
    p_t = torch.softmax(teacher.detach() / T, 0)
    return T * T * (p_t * (torch.log(p_t) - torch.log_softmax(student / T, 0))).sum()


def naive_moco_losses(queries, keys, queues):
    """Per sample: member i's query against [member j's key of the same image; member j's queue]."""
    M, B, K = len(queries), queries[0].shape[0], queues.shape[1]
    out = dict.fromkeys(TERMS, 0.0)
    for b in range(B):
        L = {}
        for i in range(M):
            for j in range(M):
                candidates = [keys[j][b].detach()] + [queues[j][k].detach() for k in range(K)]
                L[i, j] = torch.stack([torch.dot(queries[i][b], c) for c in candidates]) / TAU
        for i in range(M):
            out['vcl'] = out['vcl'] - torch.log_softmax(L[i, i], 0)[0] / B
            for j in range(M):
                if i != j:
                    out['icl'] = out['icl'] - torch.log_softmax(L[i, j], 0)[0] / B
                    out['soft_vcl'] = out['soft_vcl'] + _kl(L[i, i], L[j, j]) / B
                    out['soft_icl'] = out['soft_icl'] + _kl(L[i, j], L[j, i]) / B
    return out


def _unit(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def _cohort_inputs(M, B=4, K=7, D=6):
    queries = [_unit(B, D, seed=i).requires_grad_() for i in range(M)]
    keys = [_unit(B, D, seed=10 + i).requires_grad_() for i in range(M)]
    queues = _unit(M, K, D, seed=99).requires_grad_()
    return queries, keys, queues


@pytest.mark.parametrize('M', [2, 3])
def test_loss_matches_naive_reference_values_and_gradients(M):
    queries, keys, queues = _cohort_inputs(M)
    fast = moco_contrast_losses(queries, keys, queues, tau=TAU, kl_temperature=T)
    ref = naive_moco_losses(queries, keys, queues)
    assert set(fast) == set(TERMS)
    for term in TERMS:
        assert fast[term].dim() == 0
        assert torch.allclose(fast[term], ref[term], rtol=1e-10, atol=1e-10), term
        g_fast = torch.autograd.grad(fast[term], queries, retain_graph=True)
        g_ref = torch.autograd.grad(ref[term], queries, retain_graph=True)
        for a, b in zip(g_fast, g_ref):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-10), term
        # Keys (momentum encoders) and queues (buffers) never receive gradient.
        unused = torch.autograd.grad(fast[term], keys + [queues], retain_graph=True, allow_unused=True)
        assert all(g is None for g in unused), term
    assert all(fast[t] > 0 for t in TERMS)


def test_vcl_is_mmpretrain_moco_loss_per_member():
    """VCL = the sum over members of mmpretrain's MoCo loss (ContrastiveHead: CE over [pos, queue] / tau)."""
    queries, keys, queues = _cohort_inputs(2)
    head = MODELS.build(dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=TAU))
    expected = 0
    for q, k, queue in zip(queries, keys, queues):
        expected = expected + head.loss((q * k).sum(1, keepdim=True), q @ queue.t())
    assert torch.allclose(moco_contrast_losses(queries, keys, queues, TAU, T)['vcl'], expected)


def test_loss_module_weights_and_baseline():
    queries, keys, queues = _cohort_inputs(3)
    terms = moco_contrast_losses(queries, keys, queues, TAU, T)
    weights = dict(vcl=0.5, icl=2.0, soft_vcl=0.25, soft_icl=4.0)
    weighted = MoCoMCLLoss(loss_weights=weights, tau=TAU, kl_temperature=T)(queries, keys, queues)
    assert set(weighted) == {f'loss_{t}' for t in TERMS}
    for t in TERMS:
        assert torch.allclose(weighted[f'loss_{t}'], weights[t] * terms[t]), t
    # Authors' default: all four weights 1.
    assert MoCoMCLLoss().loss_weights == dict(vcl=1.0, icl=1.0, soft_vcl=1.0, soft_icl=1.0)
    # The baseline: VCL alone (M independent MoCo losses), no cross-member relations needed.
    baseline = MoCoMCLLoss(loss_weights=dict(icl=0, soft_vcl=0, soft_icl=0), tau=TAU)
    assert not baseline.uses_cross_relations
    out = baseline(queries, keys, queues)
    assert set(out) == {'loss_vcl'} and torch.allclose(out['loss_vcl'], terms['vcl'])
    own_only = MoCoMCLLoss(loss_weights=dict(icl=0, soft_icl=0), tau=TAU, kl_temperature=T)(queries, keys, queues)
    assert torch.allclose(own_only['loss_soft_vcl'], terms['soft_vcl'])
    with pytest.raises(KeyError, match='unknown'):
        MoCoMCLLoss(loss_weights=dict(kd=1.0))
    with pytest.raises(ValueError, match='>= 0'):
        MoCoMCLLoss(loss_weights=dict(icl=-1.0))
    with pytest.raises(ValueError, match='at least 2'):
        moco_contrast_losses(queries[:1], keys[:1], queues[:1])


# ------------------------------------------------------------------------------------------- the algorithm
def _tiny_member(norm_eval=False):
    """ResNet-18 at 1/8 width (64-d output) + MoCo v2 neck to 16-d."""
    return dict(
        backbone=dict(
            type='ResNet',
            depth=18,
            stem_channels=8,
            base_channels=8,
            num_stages=4,
            out_indices=(3, ),
            zero_init_residual=False,
            norm_eval=norm_eval),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32, out_channels=16, with_avg_pool=True))


def _tiny_moco_mcl(num_members=2, queue_len=5, momentum=0.3, norm_eval=False, seed=0, **loss_weights):
    init_default_scope('mcl_mm')
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(
            type='MoCoMCL',
            members=_tiny_member(norm_eval),
            num_members=num_members,
            queue_len=queue_len,
            feat_dim=16,
            momentum=momentum,
            loss=dict(tau=0.2, loss_weights=loss_weights)))
    model.init_weights()
    return model.train()


def _views(n=2, seed=0, size=32):
    """Two views of n images, already normalised (the data preprocessor here has no mean / std)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, size, size, generator=g) for _ in range(2)]


def _data(views):
    from mmpretrain.structures import DataSample
    return dict(inputs=views, data_samples=[DataSample() for _ in range(views[0].shape[0])])


def _optim(model, lr=0.1):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))


def _query_params(model, i):
    member = model.members[i]
    return [p.detach().clone() for p in torch.nn.Sequential(member.backbone, member.neck).parameters()]


def test_state_layout_members_key_encoders_queues():
    model = _tiny_moco_mcl(num_members=3, queue_len=7)
    keys = model.state_dict().keys()
    assert 'members.2.backbone.conv1.weight' in keys and 'members.2.neck.mlp.0.weight' in keys
    assert 'key_encoders.2.module.0.conv1.weight' in keys and 'key_encoders.2.steps' in keys
    assert {'queues', 'queue_ptr'} <= set(keys)
    assert tuple(model.queues.shape) == (3, 7, 16)
    assert torch.allclose(model.queues.norm(dim=-1), torch.ones(3, 7))
    assert model.queue_ptr.tolist() == [0, 0, 0]
    # Key encoders start as copies of their query encoders and are never trained by gradient.
    for i in range(3):
        for p_k, p_q in zip(model.key_encoders[i].module.parameters(), _query_params(model, i)):
            assert torch.equal(p_k, p_q) and not p_k.requires_grad
    # The members are query encoders only: no classifier, no head.
    assert all(member.head is None for member in model.members)
    feats = model(_views()[0], mode='tensor')
    assert len(feats) == 3 and tuple(feats[0][-1].shape) == (2, 64, 1, 1)


def test_training_steps_update_key_encoders_by_momentum_and_queues_by_own_keys():
    momentum, K, B = 0.3, 5, 2
    model = _tiny_moco_mcl(queue_len=K, momentum=momentum)
    optim = _optim(model)
    expected_k = [None, None]
    for step in range(3):
        views = _views(B, seed=step)
        queues_before, ptr_before = model.queues.clone(), model.queue_ptr.clone()
        for i in range(2):  # the key encoder steps towards the query encoder as it is *before* this step
            q = _query_params(model, i)
            expected_k[i] = q if expected_k[i] is None else [(1 - momentum) * k + momentum * p
                                                             for k, p in zip(expected_k[i], q)]
        log = model.train_step(_data(views), optim)
        assert set(log) == {'loss', 'loss_vcl', 'loss_soft_vcl', 'loss_icl', 'loss_soft_icl'}
        assert model.queue_ptr.tolist() == [(step + 1) * B % K] * 2  # 2, 4, 1: the write wraps around
        slots = (ptr_before[0] + torch.arange(B)) % K
        untouched = torch.ones(K, dtype=torch.bool)
        untouched[slots] = False
        for i, encoder in enumerate(model.key_encoders):
            for p_k, e in zip(encoder.module.parameters(), expected_k[i]):
                assert torch.allclose(p_k, e, atol=1e-6)
            assert int(encoder.steps) == step + 1
            # The member's queue received this member's keys of the key view (oldest slots first), nothing else.
            with torch.no_grad():
                keys = F.normalize(
                    copy.deepcopy(encoder.module)(model.data_preprocessor(_data(views), True)['inputs'][1])[0], dim=1)
            assert torch.allclose(model.queues[i, slots], keys, atol=1e-5), (step, i)
            assert torch.equal(model.queues[i, untouched], queues_before[i, untouched])
        assert not torch.allclose(model.queues[0, slots], model.queues[1, slots])  # each member its own keys
    # The query encoders moved away from the key encoders (trained by gradient).
    assert not torch.allclose(_query_params(model, 0)[0], model.key_encoders[0].module[0].conv1.weight)


def test_every_term_trains_every_query_encoder_and_no_key_encoder():
    model = _tiny_moco_mcl()
    views = model.data_preprocessor(_data(_views()), True)['inputs']
    losses = model.loss(views)
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        if name.startswith('members.'):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert name.startswith('key_encoders.') and p.grad is None and not p.requires_grad, name
    with pytest.raises(ValueError, match='two views'):
        model.loss(views[0])
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(views, mode='predict')


def test_baseline_is_two_independent_mmpretrain_mocos():
    """VCL alone: each member computes exactly mmpretrain's MoCo (same weights, queue, momentum, temperature)."""
    model = _tiny_moco_mcl(queue_len=6, icl=0.0, soft_vcl=0.0, soft_icl=0.0)
    mocos = []
    for i, member in enumerate(model.members):
        moco = MODELS.build(
            dict(
                type='mmpretrain.MoCo',
                backbone=_tiny_member()['backbone'],
                neck=_tiny_member()['neck'],
                head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2),
                queue_len=6,
                feat_dim=16,
                momentum=0.3)).train()
        moco.backbone.load_state_dict(member.backbone.state_dict())
        moco.neck.load_state_dict(member.neck.state_dict())
        moco.queue.copy_(model.queues[i].t())
        mocos.append(moco)
    views = model.data_preprocessor(_data(_views(2)), True)['inputs']
    ours = model.loss(views)
    assert set(ours) == {'loss_vcl'}
    theirs = [moco.loss(views, None)['loss'] for moco in mocos]
    assert torch.allclose(ours['loss_vcl'], sum(theirs), atol=1e-5)
    for i, moco in enumerate(mocos):  # the same queue write
        assert torch.allclose(model.queues[i], moco.queue.t(), atol=1e-5)
        assert int(model.queue_ptr[i]) == int(moco.queue_ptr[0]) == 2


def test_state_dict_round_trip_continues_identically():
    """Queues, pointers, key encoders and EMA step counters are all in the state dict: a model loaded from it
    (strictly) takes the next step exactly as the original."""
    model = _tiny_moco_mcl(queue_len=5)
    optim = _optim(model)
    for step in range(2):
        model.train_step(_data(_views(seed=step)), optim)
    state = copy.deepcopy(model.state_dict())
    clone = _tiny_moco_mcl(queue_len=5, seed=123)  # other random init and queues
    assert not torch.equal(clone.queues, model.queues)
    clone.load_state_dict(state, strict=True)
    clone_optim = _optim(clone)
    clone_optim.load_state_dict(copy.deepcopy(optim.state_dict()))  # not the same momentum buffers
    for m in (model, clone):
        torch.manual_seed(7)  # the key view's shuffle
        m.train_step(_data(_views(seed=5)), optim if m is model else clone_optim)
    for key, value in model.state_dict().items():
        assert torch.equal(value, clone.state_dict()[key]), key


def test_bad_configuration_is_a_clear_error():
    member = _tiny_member()
    with pytest.raises(ValueError, match='at least 2 members'):
        MODELS.build(dict(type='MoCoMCL', members=[member]))
    with pytest.raises(KeyError, match='no classifier head'):
        MODELS.build(dict(type='MoCoMCL', members=dict(member, head=dict(type='LinearClsHead')), num_members=2))
    with pytest.raises(ValueError, match='momentum'):
        MODELS.build(dict(type='MoCoMCL', members=member, num_members=2, momentum=0.999 + 1))
    model = _tiny_moco_mcl(queue_len=3)
    with pytest.raises(ValueError, match='exceed queue_len'):
        model.train_step(_data(_views(4)), _optim(model))


# ------------------------------------------------------------------------------------------------- configs
def test_config_inventory_and_metafile():
    import yaml
    names = {osp.basename(p) for p in PRETRAIN_CONFIGS}
    assert names == {
        'mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k.py', 'mocov1_resnet18x2_8xb32-steplr-200e_in1k.py',
        'mocov2-mcl_resnet18x2_8xb32-coslr-200e_in1k.py', 'mocov2_resnet18x2_8xb32-coslr-200e_in1k.py',
        'mocov2-mcl_resnet50x2_8xb32-coslr-200e_in1k.py', 'mocov2_resnet50x2_8xb32-coslr-200e_in1k.py'
    }
    assert {osp.basename(p)
            for p in BENCHMARK_CONFIGS
            } == {'resnet18_8xb32-linear-steplr-100e_in1k.py', 'resnet50_8xb32-linear-steplr-100e_in1k.py'}
    meta = yaml.safe_load(open(osp.join(CONFIG_DIR, 'metafile.yml')))
    listed = [m['Config'] for m in meta['Models']]
    assert sorted(listed) == sorted(osp.relpath(p, REPO) for p in PRETRAIN_CONFIGS)
    for model in meta['Models']:
        assert model['Name'] == osp.basename(model['Config'])[:-3]


def test_authors_recipe_is_their_main_moco_mcl_defaults():
    """The authors' run (their README: -a resnet18 --lr 0.03 --batch-size 256 --number-net 2, no --mlp / --aug-plus
    / --cos) and their builder_mcl.py / main_moco_mcl.py defaults."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'mocov1-mcl_resnet18x2_8xb32-steplr-200e_in1k.py'))
    model = cfg.model
    assert model.type == 'MoCoMCL' and model.num_members == 2
    assert model.members.backbone.depth == 18 and model.members.backbone.zero_init_residual is False
    assert model.members.neck == dict(
        type='LinearNeck', in_channels=512, out_channels=128, gap_dim=2, norm_cfg=None, act_cfg=None)
    assert model.queue_len == 65536 and model.feat_dim == 128 and model.momentum == pytest.approx(1 - 0.999)
    assert model.loss.tau == 0.07 and model.loss.kl_temperature == 3.0
    assert model.loss.loss_weights == dict(vcl=1.0, icl=1.0, soft_vcl=1.0, soft_icl=1.0)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160], gamma=0.1)]
    assert cfg.train_cfg.max_epochs == 200 and cfg.train_dataloader.batch_size * 8 == 256
    assert cfg.train_dataloader.drop_last is True
    baseline = Config.fromfile(osp.join(CONFIG_DIR, 'mocov1_resnet18x2_8xb32-steplr-200e_in1k.py'))
    assert baseline.model.loss.loss_weights == dict(vcl=1.0, icl=0.0, soft_vcl=0.0, soft_icl=0.0)
    assert baseline.model.members == model.members and baseline.train_pipeline == cfg.train_pipeline
    # Linear evaluation: the authors' main_lincls.py.
    lin = Config.fromfile(osp.join(CONFIG_DIR, 'benchmarks', 'resnet18_8xb32-linear-steplr-100e_in1k.py'))
    assert lin.optim_wrapper.optimizer == dict(type='SGD', lr=30., momentum=0.9, weight_decay=0.)
    assert lin.param_scheduler.milestones == [60, 80] and lin.train_cfg.max_epochs == 100
    assert lin.model.backbone.frozen_stages == 4
    assert lin.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=lin.pretrained, prefix='members.0.backbone.')


@pytest.mark.parametrize('path', PRETRAIN_CONFIGS, ids=osp.basename)
def test_every_config_builds_and_the_baselines_are_vcl_only(path):
    cfg = Config.fromfile(path)
    cfg.model.queue_len = 64  # the 65536-key queues are not needed to check the build
    model = MODELS.build(cfg.model)
    assert model.num_members == 2
    baseline = not osp.basename(path).split('_')[0].endswith('-mcl')
    assert model.loss_module.uses_cross_relations != baseline
    depth = cfg.model.members.backbone.depth
    feats = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert feats[1][-1].shape[1] == (512 if depth == 18 else 2048)


# --------------------------------------------------------------------------------------------------- DDP
GLOBAL_BATCH, ITERS, DDP_K = 4, 3, 10


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_train(model, rank, world):
    optim = _optim(model, lr=0.05)
    module = model.module if hasattr(model, 'module') else model
    queues, ptrs = [], []
    for step in range(ITERS):
        views = _views(GLOBAL_BATCH, seed=100 + step)
        per_rank = GLOBAL_BATCH // world
        sl = slice(rank * per_rank, (rank + 1) * per_rank)
        model.train_step(_data([v[sl] for v in views]), optim)
        queues.append(module.queues.clone())
        ptrs.append(module.queue_ptr.clone())
    return dict(
        queues=torch.stack(queues),
        ptrs=torch.stack(ptrs),
        state={
            k: v.detach().clone()
            for k, v in module.state_dict().items()
        })


def _ddp_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.model import MMDistributedDataParallel
    torch.set_num_threads(1)
    # BN frozen to running statistics: a per-rank batch then computes what the global batch would. Each rank builds
    # its own random weights and queues; DDP's start-up sync makes them rank 0's. No buffer broadcast afterwards (as
    # mmengine's runner wraps models): the queues stay identical only through the all-gathered update.
    model = MMDistributedDataParallel(
        module=_tiny_moco_mcl(queue_len=DDP_K, momentum=0.3, norm_eval=True, seed=rank), broadcast_buffers=False)
    torch.save(_ddp_train(model, rank, world), os.path.join(out_dir, f'rank{rank}.pt'))
    dist.barrier()
    dist.destroy_process_group()


def test_two_process_gloo_queues_identical_across_ranks_and_equal_one_process(tmp_path):
    mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, start_method='spawn', join=True)
    r0 = torch.load(tmp_path / 'rank0.pt', weights_only=True)
    r1 = torch.load(tmp_path / 'rank1.pt', weights_only=True)
    # Every rank wrote the all-gathered global batch: identical queues and pointers after every step.
    assert torch.equal(r0['queues'], r1['queues']) and torch.equal(r0['ptrs'], r1['ptrs'])
    assert r0['ptrs'][:, 0].tolist() == [4, 8, 2]  # 4 keys per step (2 per rank), K = 10: wraps at step 3
    for key in r0['state']:
        assert torch.equal(r0['state'][key], r1['state'][key]), key
    # ... and equal to one process fed the same global batches (keys written in rank order = batch order).
    single = _ddp_train(_tiny_moco_mcl(queue_len=DDP_K, momentum=0.3, norm_eval=True), rank=0, world=1)
    assert torch.equal(single['ptrs'], r0['ptrs'])
    assert torch.allclose(single['queues'], r0['queues'], atol=1e-5)
    for key, value in single['state'].items():
        assert torch.allclose(value.float(), r0['state'][key].float(), atol=1e-5), key


# ------------------------------------------------------------------------------------- end to end (tools)
TRAIN_CONFIG = """
_base_ = '{base}'
data_root = '{root}'
model = dict(
    members=dict(
        backbone=dict(stem_channels=8, base_channels=8),
        neck=dict(type='MoCoV2Neck', in_channels=64, hid_channels=32, out_channels=16, with_avg_pool=True,
                  _delete_=True)),
    queue_len=12, feat_dim=16)
# Deterministic views: the global RNG is not in checkpoints, so a resumed run repeats the uninterrupted one only
# when the augmentation draws nothing (the sampler is seeded per epoch).
view_pipeline = [dict(type='CenterCrop', crop_size=32)]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomDataset', data_root=data_root, data_prefix='train', pipeline=train_pipeline,
                 _delete_=True))
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
"""

LINEAR_CONFIG = """
_base_ = '{base}'
data_root = '{root}'
model = dict(
    backbone=dict(stem_channels=8, base_channels=8,
                  init_cfg=dict(type='Pretrained', checkpoint='{ckpt}', prefix='members.1.backbone.')),
    head=dict(num_classes=4, in_channels=64, topk=(1, )))
data_preprocessor = dict(num_classes=4)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
""" + FOLDER_LOADERS + """val_evaluator = dict(topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.1))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""

ONE_THREAD = dict(OMP_NUM_THREADS='1')  # tiny models: one intra-op thread per tool run


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


@pytest.fixture(scope='module')
def moco_run(tmp_path_factory, cls_data):
    """2 epochs of MoCo-MCL x2 through tools/train.py (4 steps of 8 images per epoch, K = 12)."""
    work = tmp_path_factory.mktemp('moco_mcl')
    cfg = work / 'moco_mcl.py'
    cfg.write_text(
        TRAIN_CONFIG.format(
            base=osp.join(CONFIG_DIR, 'mocov2-mcl_resnet18x2_8xb32-coslr-200e_in1k.py'), root=cls_data['root']))
    _, out = run_tool('train.py', cfg, '--work-dir', work / 'run', env=ONE_THREAD)
    return dict(cfg=cfg, work=work, run=work / 'run', log=out)


@pytest.mark.slow
def test_training_logs_every_term_and_resume_restores_queues_and_key_encoders(moco_run):
    assert all(f'loss_{t}' in moco_run['log'] for t in TERMS)
    first, last = _state(moco_run['run'] / 'epoch_1.pth'), _state(moco_run['run'] / 'epoch_2.pth')
    # 4 steps x 8 keys per epoch into K = 12 slots: the pointer is at 32 % 12, then 64 % 12.
    assert first['queue_ptr'].tolist() == [8, 8] and last['queue_ptr'].tolist() == [4, 4]
    assert [int(first[f'key_encoders.{i}.steps']) for i in range(2)] == [4, 4]
    assert not torch.allclose(first['queues'], last['queues'])
    # Resume from epoch 1 in another work dir: the second epoch repeats the uninterrupted one.
    _, out = run_tool(
        'train.py',
        moco_run['cfg'],
        '--work-dir',
        moco_run['work'] / 'resumed',
        '--resume',
        moco_run['run'] / 'epoch_1.pth',
        env=ONE_THREAD)
    assert 'resumed epoch: 1' in out
    again = _state(moco_run['work'] / 'resumed' / 'epoch_2.pth')
    assert again.keys() == last.keys()
    assert torch.equal(again['queue_ptr'], last['queue_ptr'])
    for i in range(2):
        assert torch.equal(again[f'key_encoders.{i}.steps'], last[f'key_encoders.{i}.steps'])
    for key, value in last.items():
        assert torch.allclose(value.float(), again[key].float(), atol=1e-5), key


@pytest.mark.slow
def test_export_of_a_member_query_backbone_loads_strictly_into_mmdet_and_mmseg(moco_run, tmp_path):
    ckpt = moco_run['run'] / 'epoch_2.pth'
    out = tmp_path / 'm1.pth'
    _, log = run_tool('model_converters/extract_backbone.py', ckpt, out, '--member', 1)
    assert 'mmdet.ResNet' in log and 'mmseg.ResNet' in log
    exported = torch.load(out, map_location='cpu', weights_only=True)['state_dict']
    full = _state(ckpt)
    query = {k[len('members.1.backbone.'):]: v for k, v in full.items() if k.startswith('members.1.backbone.')}
    assert exported.keys() == query.keys()
    from mmdet.models.backbones import ResNet as DetResNet
    from mmseg.models.backbones import ResNet as SegResNet
    for cls in (DetResNet, SegResNet):
        net = cls(depth=18, stem_channels=8, base_channels=8)
        net.load_state_dict(exported, strict=True)
        for k, v in net.state_dict().items():
            assert torch.equal(v, query[k]), k
    # The query encoder of member 1: not its key encoder, not member 0.
    assert not torch.equal(exported['layer1.0.conv1.weight'], full['key_encoders.1.module.0.layer1.0.conv1.weight'])
    assert not torch.equal(exported['conv1.weight'], full['members.0.backbone.conv1.weight'])
    # publish_model: the member alone, backbone.* only.
    run_tool('model_converters/publish_model.py', ckpt, tmp_path / 'pub', '--member', 1)
    published = torch.load(glob.glob(str(tmp_path / 'pub_*.pth'))[0], map_location='cpu', weights_only=True)
    assert set(published['state_dict']) == {f'backbone.{k}' for k in query}


@pytest.mark.slow
def test_linear_evaluation_config_freezes_the_pretrained_member(moco_run, cls_data, tmp_path):
    ckpt = moco_run['run'] / 'epoch_2.pth'
    cfg = tmp_path / 'linear.py'
    cfg.write_text(
        LINEAR_CONFIG.format(
            base=osp.join(CONFIG_DIR, 'benchmarks', 'resnet18_8xb32-linear-steplr-100e_in1k.py'),
            root=cls_data['root'],
            ckpt=ckpt))
    _, out = run_tool('train.py', cfg, '--work-dir', tmp_path / 'lin', env=ONE_THREAD)
    assert 'accuracy/top1' in out
    trained = _state(tmp_path / 'lin' / 'epoch_1.pth')
    member = _state(ckpt)
    backbone = [k for k in trained if k.startswith('backbone.')]
    assert backbone and {k for k in trained if not k.startswith('backbone.')} == {'head.fc.weight', 'head.fc.bias'}
    for key in backbone:  # loaded from member 1's query encoder and frozen: weights and BN statistics unchanged
        assert torch.equal(trained[key], member['members.1.' + key]), key
