"""Checkpoints whose contents someone crafted: every loader ends in one error naming the file, never a traceback,
and nothing from the file becomes code in what we publish.

The loaders run in-process on small synthetic cohort checkpoints (a 4-channel ResNet-18 pair, a few kB), so a
few hundred generated malformed structures take seconds; tests/test_tools/test_hostile_input.py runs the tools
themselves.
"""
import copy
import glob
import json
import os.path as osp
import random

import pytest
import torch
from mmengine.config import Config

from mcl_mm.apis import classify_pretrained, extract_backbone, load_published_member, publish_member
from mcl_mm.apis.publish import verify_published_hash
from mcl_mm.utils.errors import USER_ERRORS, CohortCheckpointError, UnsafeConfigError
from mcl_mm.utils.safe_config import MAX_DEPTH, config_from_data_text, literal_config_text

BACKBONE = dict(type='ResNet', depth=18, stem_channels=4, base_channels=4, num_stages=4, out_indices=(3, ))
MEMBER = dict(
    backbone=BACKBONE,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=32, topk=(1, )))
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


def _member_state(seed):
    from mmengine.registry import init_default_scope

    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    torch.manual_seed(seed)
    model = MODELS.build(dict(type='ImageClassifier', **copy.deepcopy(MEMBER)))
    return model.state_dict()


@pytest.fixture(scope='module')
def tiny_cohort():
    """A cohort checkpoint in the layout tools/train.py writes: members.<i>.{backbone,head}.*, meta.cfg (mmengine's
    pretty_text of the training config), epoch, experiment_name, dataset_meta."""
    state = {}
    for i in range(2):
        state.update({f'members.{i}.{k}': v for k, v in _member_state(i).items()})
    cfg = Config(
        dict(
            model=dict(type='MCL', members=MEMBER, num_members=2),
            test_dataloader=dict(dataset=dict(type='CustomDataset', pipeline=PIPELINE))))
    meta = dict(
        cfg=cfg.pretty_text,
        epoch=1,
        iter=4,
        experiment_name='mcl_tiny_20261207_000000',
        dataset_meta=dict(classes=['a', 'b', 'c']))
    return dict(state_dict=state, meta=meta)


def _save(tmp_path, name, obj):
    path = tmp_path / name
    torch.save(obj, path)
    return str(path)


# --------------------------------------------------------------------- crafted values in the stored config
CRAFTED_CONFIG_TEXTS = [
    ('model = dict(members={[1]: 2})', 'unhashable'),  # an unhashable dict key
    ('model = dict(members={{1}, 2})', 'unhashable'),  # a set inside a set
    ('model = ' + '-' * 100000 + '1', 'not a readable config'),  # a unary chain the parser cannot hold
    ('model = ' + '[' * 150 + ']' * 150, 'not'),  # nesting past what a config holds
    ('model = ' + '9' * 5000, 'not a readable config'),  # past Python's integer digit limit
    ('filename = 1\nmodel = dict(members=dict(backbone=dict()))', 'reserved'),  # a name mmengine reserves
]


@pytest.mark.parametrize('text, needle', CRAFTED_CONFIG_TEXTS, ids=[str(i) for i in range(len(CRAFTED_CONFIG_TEXTS))])
def test_crafted_stored_configs_end_in_one_line_naming_the_file(tmp_path, tiny_cohort, text, needle):
    ckpt = copy.deepcopy(tiny_cohort)
    ckpt['meta']['cfg'] = text
    path = _save(tmp_path, 'crafted.pth', ckpt)
    for call in (lambda: extract_backbone(path, str(tmp_path / 'out.pth'), 0),
                 lambda: publish_member(path, str(tmp_path / 'pub'), 0)):
        with pytest.raises(USER_ERRORS) as err:
            call()
        message = str(err.value)
        assert '\n' not in message and needle in message, message
        assert 'crafted.pth' in message or 'Traceback' not in message, message


def test_a_stored_config_without_a_usable_test_pipeline_is_not_published(tmp_path, tiny_cohort):
    ckpt = copy.deepcopy(tiny_cohort)
    ckpt['meta']['cfg'] = f'model = dict(members=dict(backbone={BACKBONE!r}, head=3), type="MCL")\ntest_dataloader = 7'
    path = _save(tmp_path, 'crafted.pth', ckpt)
    with pytest.raises(CohortCheckpointError, match='no usable test pipeline'):
        publish_member(path, str(tmp_path / 'pub'), 0)
    assert not glob.glob(str(tmp_path / 'pub*'))


@pytest.mark.parametrize('edit, needle', [
    (lambda c: c['state_dict'].update({7: torch.zeros(1)}), 'key of type int'),
    (lambda c: c['state_dict'].update({'members.0.backbone.x': [1, 2]}), 'is a list, not a tensor'),
    (lambda c: c['state_dict'].update({'members.0.backbone.x': None}), 'is a NoneType, not a tensor'),
    (lambda c: c.update(state_dict=[1, 2]), 'holds no weights'),
    (lambda c: c.update(state_dict={}), 'holds no weights'),
    (lambda c: c.update(meta=['x']), 'not the dict'),
])
def test_crafted_state_dicts_end_in_one_line(tmp_path, tiny_cohort, edit, needle):
    ckpt = copy.deepcopy(tiny_cohort)
    edit(ckpt)
    path = _save(tmp_path, 'crafted.pth', ckpt)
    calls = [
        lambda: extract_backbone(path, str(tmp_path / 'out.pth'), 0),
        lambda: publish_member(path, str(tmp_path / 'pub'), 0)
    ]
    if needle != 'not the dict':  # the fine-tune resolver reads the weights only
        calls.append(lambda: classify_pretrained(path, 0))
    for call in calls:
        with pytest.raises(USER_ERRORS) as err:
            call()
        assert needle in str(err.value), str(err.value)


def test_a_member_index_past_any_cohort_size_is_ignored_not_parsed(tmp_path, tiny_cohort):
    # int() of a 5000-digit string raises ValueError (Python's digit limit): such a key belongs to no member.
    ckpt = copy.deepcopy(tiny_cohort)
    ckpt['state_dict']['members.' + '9' * 5000 + '.x'] = torch.zeros(1)
    path = _save(tmp_path, 'crafted.pth', ckpt)
    assert extract_backbone(path, str(tmp_path / 'out.pth'), 1)['num_tensors'] > 0
    assert classify_pretrained(path, 1)[1] == 'members.1.backbone.'


# ------------------------------------------------------------------------------------- the fuzz
def _random_value(rng, depth=0):
    kinds = ['int', 'huge', 'float', 'nan', 'str', 'none', 'bool', 'tensor', 'bytes']
    if depth < 6:
        kinds += ['list', 'tuple', 'dict', 'dict', 'deep']
    kind = rng.choice(kinds)
    if kind == 'int':
        return rng.randint(-5, 2**70)
    if kind == 'huge':
        return 10**rng.choice([20, 400, 5000])
    if kind == 'float':
        return rng.uniform(-1e300, 1e300)
    if kind == 'nan':
        return rng.choice([float('nan'), float('inf'), -float('inf')])
    if kind == 'str':
        return rng.choice([
            '', "'", '"', "') or __import__('os').system('true') or ('", '\n', 'x' * 1000, 'é\x00',
            'members.0.backbone.conv1.weight', 'dict(**a)'
        ])
    if kind == 'none':
        return None
    if kind == 'bool':
        return rng.random() < 0.5
    if kind == 'tensor':
        return torch.zeros(rng.choice([0, 1, 3]))
    if kind == 'bytes':
        return b'\x80\x04'
    if kind == 'deep':
        value = 1
        for _ in range(rng.choice([MAX_DEPTH, 3 * MAX_DEPTH, 500])):
            value = [value] if rng.random() < 0.5 else {'k': value}
        return value
    items = [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 'list':
        return items
    if kind == 'tuple':
        return tuple(items)
    keys = [
        rng.choice(['a', 'cfg', 'state_dict', 'meta', 'members', 'backbone', 'classes', 7, None, (1, 2), ''])
        for _ in items
    ]
    return dict(zip(keys, items))


def _random_config_text(rng):
    pieces = [
        'model = dict(type="MCL", members=dict(backbone=dict(type="ResNet", depth=18)))',
        f'model = {_literal_text(rng, 0)}', 'import os', 'model = {**a}', 'a = ' + '(' * 300,
        f'model = dict(members=dict(backbone={_literal_text(rng, 0)}))', 'x = -' + '-' * rng.randint(1, 300) + '1',
        'test_dataloader = ' + _literal_text(rng, 0), 'text = 1', "a = b'\\x00'", 'a = 1e999', 'a = 1j'
    ]
    return '\n'.join(rng.sample(pieces, rng.randint(1, 4)))


def _literal_text(rng, depth):
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(['1', '-1', '"s"', 'None', 'True', '1.5', '9' * 20, '{}', '[]', '()', 'set()'])
    parts = [_literal_text(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return rng.choice(['[{}]', '({},)', '{{{}}}', 'dict(a={})']).format(', '.join(parts) if parts else '1') \
        if rng.random() < 0.7 else '{' + ', '.join(f'{p}: {q}' for p, q in zip(parts, reversed(parts))) + '}'


def _mutate(rng, base):
    ckpt = copy.deepcopy(base)
    for _ in range(rng.randint(1, 3)):
        try:
            ckpt = _mutate_once(rng, ckpt)
        except (KeyError, TypeError, AttributeError, IndexError, RuntimeError, ValueError):  # an earlier mutation took
            # away what this one edits (or made the state dict a tensor)
            pass
    return ckpt


def _mutate_once(rng, ckpt):
    what = rng.randrange(9)
    if what == 0:
        ckpt['meta']['cfg'] = _random_config_text(rng)
    elif what == 1:
        ckpt['meta'][rng.choice(['epoch', 'iter', 'experiment_name', 'dataset_meta'])] = _random_value(rng)
    elif what == 2:
        ckpt['state_dict'][rng.choice(list(ckpt['state_dict']))] = _random_value(rng)
    elif what == 3:
        key = _random_value(rng, 5) if rng.random() < 0.5 else f'members.{rng.randint(0, 10**6)}.x'
        ckpt['state_dict'][key] = torch.zeros(1)
    elif what == 4:
        ckpt['meta'] = _random_value(rng)
    elif what == 5:
        ckpt = _random_value(rng) if rng.random() < 0.3 else dict(state_dict=_random_value(rng))
    elif what == 6:
        ckpt['meta']['cfg'] = _random_value(rng)
    elif what == 7:
        key = rng.choice(list(ckpt['state_dict']))
        value = ckpt['state_dict'][key]
        if torch.is_tensor(value) and value.is_floating_point():
            ckpt['state_dict'][key] = value.flatten()[:rng.randint(0, 3)]
    else:
        ckpt['meta']['dataset_meta'] = dict(
            classes=[_random_value(rng) for _ in range(3)], **{rng.choice(['a', "'", 'x\n=1', '']): _random_value(rng)})
    return ckpt


def test_fuzz_the_checkpoint_loaders_with_malformed_structures(tmp_path, tiny_cohort):
    """A few hundred generated malformed checkpoints through export, publish and the fine-tune resolver: each ends
    in a user error (or works), never another exception, and nothing published holds code."""
    rng = random.Random(20261207)
    outcomes = {'refused': 0, 'worked': 0}
    for case in range(300):
        ckpt = _mutate(rng, tiny_cohort)
        try:
            path = _save(tmp_path, f'case{case}.pth', ckpt)
        except Exception:  # torch.save refuses some structures (a bytes key...): nothing to load
            continue
        calls = (('extract', lambda: extract_backbone(path, str(tmp_path / f'out{case}.pth'), rng.choice([0, 1, 5]))),
                 ('publish', lambda: publish_member(path, str(tmp_path / f'pub{case}'), 0, with_head=True)),
                 ('classify', lambda: classify_pretrained(path, rng.choice([None, 0, 3]))))
        for name, call in calls:
            try:
                call()
                outcomes['worked'] += 1
            except USER_ERRORS as err:
                assert str(err).strip(), (case, name)
                outcomes['refused'] += 1
            except Exception as err:  # noqa: BLE001 (the test: anything else is a defect)
                raise AssertionError(f'case {case}, {name}: {type(err).__name__}: {err}'[:2000]) from err
    for config in glob.glob(str(tmp_path / 'pub*.py')):  # whatever was published reads back as data
        config_from_data_text(open(config).read(), config)
    assert outcomes['refused'] > 300 and outcomes['worked'] > 10, outcomes


# ------------------------------------------------------------------------- the published config
def test_a_published_config_holds_literals_only_whatever_the_checkpoint_holds(tmp_path, tiny_cohort):
    """Quotes in dataset_meta keys and values, and in the stored config's strings, stay strings: loading the
    published .py the way get_model does (mmengine executes it) runs nothing."""
    marker = tmp_path / 'pwned'
    payload = f"') or open({str(marker)!r}, 'w') or ('"
    ckpt = copy.deepcopy(tiny_cohort)
    ckpt['meta']['dataset_meta'] = {payload: 1, 'classes': [payload, '"""', "'''"], 'x\n=1\nimport os': 2}
    ckpt['meta']['cfg'] = ckpt['meta']['cfg'].replace("type='PackInputs'", f'type={payload!r}')
    path = _save(tmp_path, 'quotes.pth', ckpt)
    weights, _ = publish_member(path, str(tmp_path / 'quoted'), 0, with_head=True)
    config = weights[:-len('.pth')] + '.py'
    cfg = Config.fromfile(config)  # what mmpretrain.get_model does with the file: executes it
    assert not marker.exists()
    assert cfg.dataset_meta[payload] == 1 and cfg.dataset_meta['classes'][0] == payload
    assert cfg.test_pipeline[-1]['type'] == payload
    data = config_from_data_text(open(config).read(), config)  # and it reads back as data
    assert data.to_dict() == cfg.to_dict() or json.dumps(
        data.to_dict(), sort_keys=True, default=str) == json.dumps(
            cfg.to_dict(), sort_keys=True, default=str)


def test_literal_config_text_refuses_what_a_literal_cannot_say():
    for bad, needle in ((dict(a=float('nan')), 'cannot hold'), (dict(a=object()), 'not plain data'), ({
            'not a name': 1
    }, 'not a name'), (dict(a={(1, object()): 1}), 'key of type')):
        with pytest.raises(UnsafeConfigError, match=needle):
            literal_config_text(bad)
    text = literal_config_text(dict(a={'b c': [1, (2, ), {'d': None}]}, e=dict(f=-1.5, g="'\"")))
    assert config_from_data_text(text).to_dict() == dict(a={'b c': [1, (2, ), {'d': None}]}, e=dict(f=-1.5, g="'\""))


def test_publish_needs_a_name_and_an_architecture(tmp_path, tiny_cohort):
    path = _save(tmp_path, 'c.pth', tiny_cohort)
    for stem in ('', str(tmp_path) + '/', str(tmp_path / '--')):
        with pytest.raises(CohortCheckpointError, match='names no model'):
            publish_member(path, stem, 0)
    no_config = copy.deepcopy(tiny_cohort)
    del no_config['meta']['cfg']
    bare = _save(tmp_path, 'bare.pth', no_config)
    # One rule for export and publish: a member never verified against an architecture is refused by both.
    for call in (lambda: publish_member(bare, str(tmp_path / 'p'), 0),
                 lambda: extract_backbone(bare, str(tmp_path / 'e.pth'), 0)):
        with pytest.raises(CohortCheckpointError, match='carries no training config'):
            call()
    assert not glob.glob(str(tmp_path / 'p_*')) and not osp.exists(tmp_path / 'e.pth')


def test_a_published_member_is_verified_by_its_hash_and_loads_without_executing(tmp_path, tiny_cohort):
    path = _save(tmp_path, 'c.pth', tiny_cohort)
    weights, _ = publish_member(path, str(tmp_path / 'member'), 0, with_head=True)
    assert verify_published_hash(weights)
    model = load_published_member(weights)
    assert type(model).__name__ == 'ImageClassifier'
    expected = {k: v for k, v in tiny_cohort['state_dict'].items() if k.startswith('members.0.backbone.')}
    got = model.state_dict()
    assert all(torch.equal(got[k[len('members.0.'):]], v) for k, v in expected.items())
    # Renamed to another hash: refused by the fine-tune resolver and by the loader.
    renamed = tmp_path / (osp.basename(weights)[:-len('00000000.pth')] + '00000000.pth')
    renamed.write_bytes(open(weights, 'rb').read())
    with pytest.raises(CohortCheckpointError, match='promises SHA-256 00000000'):
        classify_pretrained(str(renamed))
    # Same bytes, but the .json beside it vouches for another file: refused.
    sidecar = weights[:-len('.pth')] + '.json'
    record = json.load(open(sidecar))
    json.dump(dict(record, sha256='0' * 64), open(sidecar, 'w'))
    with pytest.raises(CohortCheckpointError, match='do not belong together'):
        load_published_member(weights)
    json.dump(record, open(sidecar, 'w'))
    # A .py that is code is refused by the data-only loader.
    config = weights[:-len('.pth')] + '.py'
    with open(config, 'a') as f:
        f.write("import os\n")
    with pytest.raises(UnsafeConfigError, match='not plain data|more than plain data'):
        load_published_member(weights)
