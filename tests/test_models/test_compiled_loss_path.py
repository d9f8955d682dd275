"""The torch.compile'd loss path (MCLLoss / CohortMemoryBank / LMCL with compile=True) against eager.

Compiling on the CPU takes tens of seconds per graph, so these tests are marked slow (CI runs them). The
eager path is pinned to naive references in test_losses.py / test_lmcl.py; here the compiled one is pinned
to eager: values and gradients within 1e-5, the same draws and bank updates, and far fewer aten ops.
"""
import pytest
import torch
import torch.nn.functional as F

from mcl_mm.models.compile import MaybeCompiled
from mcl_mm.models.losses import MCLLoss, memory_relations
from mcl_mm.models.memories import CohortMemoryBank

pytestmark = pytest.mark.slow

M, B, N, D, NEG_K = 2, 16, 500, 32, 64


def _loss_path(compile_mode):
    torch.manual_seed(0)
    loss = MCLLoss(tau=0.07, compile=compile_mode)
    bank = CohortMemoryBank(M, N, feat_dim=D, neg_k=NEG_K, compile=compile_mode)
    bank.set_labels(torch.arange(N) % 10)
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(B, D, generator=gen, requires_grad=True) for _ in range(M)]
    indices = torch.randperm(N, generator=gen)[:B]
    labels = indices % 10

    def step():
        embeddings = [F.normalize(f, dim=1) for f in feats]
        pos_idx, neg_idx = bank.sample(indices, labels)
        terms = loss(embeddings, labels, memories=bank.banks, pos_idx=pos_idx, neg_idx=neg_idx)
        bank.update(indices, embeddings)  # the training order: MCL.loss updates the banks, backward follows
        grads = torch.autograd.grad(sum(terms.values()), feats)
        return terms, grads, (pos_idx, neg_idx)

    return loss, bank, step


def test_fused_relations_equal_the_matmul_form():
    gen = torch.Generator().manual_seed(0)
    banks = F.normalize(torch.randn(3, 50, 8, generator=gen), dim=-1)
    anchors = F.normalize(torch.randn(5, 4, 8, generator=gen), dim=-1)  # 5 views (L-MCL: member x stage)
    pos, neg = torch.randint(0, 50, (4, 2), generator=gen), torch.randint(0, 50, (4, 9), generator=gen)
    eager = memory_relations(banks, pos, neg, anchors, 0.1)
    fused = memory_relations(banks, pos, neg, anchors, 0.1, fused=True)
    assert fused.shape == eager.shape == (3, 5, 4, 11)
    torch.testing.assert_close(fused, eager, rtol=1e-6, atol=1e-5)


def test_compiled_bank_path_equals_eager_values_grads_draws_and_banks():
    eager_loss, eager_bank, eager_step = _loss_path(False)
    comp_loss, comp_bank, comp_step = _loss_path(True)
    for _ in range(3):  # the draws depend on the update counter: several steps check it advances alike
        terms_e, grads_e, draws_e = eager_step()
        terms_c, grads_c, draws_c = comp_step()
        for key in terms_e:
            torch.testing.assert_close(terms_c[key], terms_e[key], rtol=1e-5, atol=1e-5)
        for g_c, g_e in zip(grads_c, grads_e):
            torch.testing.assert_close(g_c, g_e, rtol=1e-5, atol=1e-5)
        for d_c, d_e in zip(draws_c, draws_e):
            assert torch.equal(d_c, d_e)
        comp_bank.flush_pending_update()  # compiled, the write waits for the next read (backward needs the rows)
        torch.testing.assert_close(comp_bank.banks, eager_bank.banks, rtol=1e-6, atol=1e-6)
    assert not (comp_loss._bank_terms.failed or comp_bank._draws.failed or comp_bank._update.failed)
    assert int(comp_bank.num_updates) == int(eager_bank.num_updates) == 3


def _count_aten_ops(step):
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step()
    return sum(1 for e in prof.events() if e.name.startswith('aten::'))


def test_compiled_loss_path_issues_at_most_150_aten_ops():
    _, _, eager_step = _loss_path(False)
    _, _, comp_step = _loss_path(True)
    comp_step()  # compile
    eager_step()
    eager_ops, compiled_ops = _count_aten_ops(eager_step), _count_aten_ops(comp_step)
    print(f'aten ops per loss-path step (sample + terms fwd/bwd + update): eager {eager_ops}, compiled '
          f'{compiled_ops}')
    assert compiled_ops <= 150, compiled_ops
    assert eager_ops > 3 * compiled_ops  # the eager path really is the launch-heavy one


def test_compiled_inbatch_path_equals_eager():
    gen = torch.Generator().manual_seed(2)
    labels = torch.arange(8).repeat_interleave(2)
    feats = [torch.randn(16, D, generator=gen, requires_grad=True) for _ in range(3)]
    out = {}
    for mode in (False, True):
        loss = MCLLoss(tau=0.1, compile=mode)
        terms = loss([F.normalize(f, dim=1) for f in feats], labels)
        out[mode] = terms, torch.autograd.grad(sum(terms.values()), feats)
    for key in out[False][0]:
        torch.testing.assert_close(out[True][0][key], out[False][0][key], rtol=1e-5, atol=1e-5)
    for g_c, g_e in zip(out[True][1], out[False][1]):
        torch.testing.assert_close(g_c, g_e, rtol=1e-5, atol=1e-5)


def test_auto_compiles_on_cuda_only_and_off_never():
    fn = MaybeCompiled(torch.sin, 'auto', 'sin')
    assert fn.enabled(torch.device('cuda')) and not fn.enabled(torch.device('cpu'))
    assert not MaybeCompiled(torch.sin, False, 'sin').enabled(torch.device('cuda'))
    with pytest.raises(ValueError, match="compile must be True, False or 'auto'"):
        MCLLoss(compile='yes')


FALLBACK_SCRIPT = """
import warnings
import torch
import torch._inductor.config as inductor_config
from mcl_mm.models.compile import MaybeCompiled
inductor_config.cpp.cxx = ('/nonexistent/bin/g++', )  # a machine without a working C++ compiler
inductor_config.fx_graph_cache = False

def poly(x):
    return (x * 3.0 + 1.0).cos().sum(-1)

fn = MaybeCompiled(poly, True, 'poly')
x = torch.randn(4, 7)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    first, second = fn(x, device=x.device), fn(x, device=x.device)
messages = [str(w.message) for w in caught if 'poly: torch.compile failed' in str(w.message)]
assert fn.failed and len(messages) == 1, messages
torch.testing.assert_close(first, poly(x))
torch.testing.assert_close(second, poly(x))
print('fell back once:', messages[0][:120])
"""


def test_compile_failure_falls_back_to_eager_with_one_warning():
    """Inductor's CPU codegen fails for real (no compiler); the values still come, eagerly. In a subprocess:
    Inductor caches the compiler it found, which would leak into the other tests."""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, '-c', FALLBACK_SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'fell back once: poly: torch.compile failed' in proc.stdout


def test_compiled_lmcl_v2_step_equals_eager_and_the_meta_step_stays_eager():
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    member = dict(
        backbone=dict(type='CifarResNet', depth=8, base_channels=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=16, topk=(1, )))
    x = torch.randn(8, 3, 16, 16)
    samples = [DataSample(metainfo=dict(sample_idx=i)).set_gt_label(i % 4) for i in range(8)]
    results = {}
    for mode in (False, True):
        torch.manual_seed(0)
        model = MODELS.build(
            dict(
                type='LMCL',
                mode='v2',
                members=member,
                num_members=2,
                loss=dict(tau=0.1, compile=mode),
                memory=dict(num_samples=16, neg_k=6, compile=mode),
                meta=dict(freq=1, times=2),
                branches=dict(stages=('layer1', 'layer2', 'layer3'), taps=('layer1', 'layer2')),
                embed_head=dict(type='ContrastEmbedHead', hid_channels=8, out_channels=8))).train()
        model.memory.set_labels(torch.arange(16) % 4)
        losses = model.loss(x, samples)
        params = [p for p in model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(sum(v for k, v in losses.items() if 'loss' in k), params, allow_unused=True)
        # The look-ahead differentiates the contrast twice: compiled code cannot, so the meta step must stay eager.
        from mmengine.optim import OptimWrapper
        network = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        weight_wrapper = OptimWrapper(torch.optim.SGD(model.weight_net.parameters(), lr=0.5))
        model.meta_step(dict(inputs=x, data_samples=samples), network, weight_wrapper)
        results[mode] = losses, grads, model.memory.state_dict()['banks'].clone(), [
            p.detach().clone() for p in model.weight_net.parameters()
        ]
        assert not model.loss_module._terms.failed
    for key in results[False][0]:
        torch.testing.assert_close(results[True][0][key], results[False][0][key], rtol=1e-5, atol=1e-5)
    for g_c, g_e in zip(results[True][1], results[False][1]):
        if g_e is not None:
            torch.testing.assert_close(g_c, g_e, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(results[True][2], results[False][2], rtol=1e-6, atol=1e-6)
    for p_c, p_e in zip(results[True][3], results[False][3]):  # the same meta update after the compiled step
        torch.testing.assert_close(p_c, p_e, rtol=1e-4, atol=1e-6)
