"""tools/model_converters/publish_model.py: strip a cohort checkpoint down to one member, hash-name it, record
metadata."""
import copy
import datetime
import glob
import hashlib
import json
import math
import os
import os.path as osp
import re
import warnings
from typing import Optional, Tuple

from mcl_mm.engine.atomic_io import atomic_write_files
from mcl_mm.utils.errors import CohortCheckpointError, RunRecordError, UnsafeConfigError
from mcl_mm.utils.logs import scalar_records
from mcl_mm.utils.paths import project_root
from mcl_mm.utils.safe_config import MAX_DEPTH, literal_config_text
from .cohort_checkpoint import check_output_paths, open_member, serialize
from .export import verify_backbone


def _val_accuracy(checkpoint: str, epoch: Optional[int], member: int) -> Optional[dict]:
    """The member's and the ensemble's top-1/top-5 at the checkpoint's epoch, from the run's logs
    (:func:`scalar_records`: scalars.json, else the text log)."""
    work_dir = osp.dirname(osp.abspath(checkpoint))
    try:
        records = [r for r in scalar_records(work_dir) if 'cohort/ensemble/top1' in r]
    except RunRecordError as err:
        warnings.warn(f'no validation accuracy recorded: {err}')
        return None
    matching = [r for r in records if r.get('step') == epoch]
    if not matching:
        warnings.warn(f'no validation accuracy recorded: the logs in {work_dir} have no cohort/ensemble/top1 at '
                      f'epoch {epoch}')
        return None
    record = matching[-1]
    pick = {f'member_{k}': record.get(f'cohort/member_{member}/{k}') for k in ('top1', 'top5')}
    pick.update({f'ensemble_{k}': record.get(f'cohort/ensemble/{k}') for k in ('top1', 'top5')})
    pick = {k: v for k, v in pick.items() if v is not None}
    pick['epoch'] = epoch
    return pick


REPO = project_root()
PLAIN_LOADERS = ('LoadImageFromFileChecked', 'mcl_mm.LoadImageFromFileChecked')


def _scoped(module_cfg: dict) -> dict:
    """A member sub-config whose type names mcl_mm's registry when the type is ours (mmpretrain builds it)."""
    from mcl_mm.registry import MODELS
    out = copy.deepcopy(dict(module_cfg))
    out.pop('init_cfg', None)
    kind = out.get('type')
    if isinstance(kind, str) and '.' not in kind and kind in MODELS.module_dict:
        out['type'] = f'mcl_mm.{kind}'
    return out


def member_inference_config(cfg, member_cfg: dict, dataset_meta: Optional[dict]) -> dict:
    """An mmpretrain config of one member alone (backbone + neck + head, the cohort's preprocessing and test
    pipeline): what ``mmpretrain.get_model`` and ``ImageClassificationInferencer`` need."""
    model = dict(type='ImageClassifier')
    for part in ('backbone', 'neck', 'head'):
        if member_cfg.get(part):
            model[part] = _scoped(member_cfg[part])
    preprocessor = (cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {})
    model['data_preprocessor'] = {k: v for k, v in dict(preprocessor).items() if k != 'type'}
    test_loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = copy.deepcopy(list(test_loader.get('dataset', {}).get('pipeline', [dict(type='PackInputs')])))
    for step in pipeline:  # mmpretrain's inferencer swaps a plain LoadImageFromFile for array inputs
        if step.get('type') in PLAIN_LOADERS:
            step.clear()
            step['type'] = 'LoadImageFromFile'
    return dict(
        default_scope='mmpretrain',
        custom_imports=dict(imports=['mcl_mm.models', 'mcl_mm.datasets'], allow_failed_imports=False),
        model=model,
        test_pipeline=pipeline,
        test_dataloader=dict(
            batch_size=32,
            num_workers=2,
            dataset=dict(type='CustomDataset', pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=False)),
        test_evaluator=dict(type='Accuracy', topk=(1, )),
        dataset_meta=dict(dataset_meta or {}),
    )


def _versions() -> dict:
    import mmengine
    import mmpretrain
    import torch

    import mcl_mm

    # str(): torch.__version__ is a TorchVersion, which a weights-only load refuses
    return dict(
        torch=str(torch.__version__),
        mmengine=str(mmengine.__version__),
        mmpretrain=str(mmpretrain.__version__),
        mcl_mm=str(mcl_mm.__version__))


COLLECTIONS = {'MCL': 'MCL', 'LMCL': 'L-MCL'}  # model type -> metafile collection


def _source_config(experiment_name: Optional[str]) -> Optional[str]:
    """The training config, from mmengine's experiment name (``<config stem>_<YYYYMMDD_HHMMSS>``): its path in
    this repository's configs/ when it is one of them, else ``<stem>.py``. (The config text stored in the
    checkpoint is re-read from a temporary file, whose name says nothing.)"""
    if not experiment_name:
        return None
    stem = re.sub(r'_\d{8}_\d{6}$', '', experiment_name)
    found = sorted(glob.glob(osp.join(REPO, 'configs', '**', f'{stem}.py'), recursive=True))
    return osp.relpath(found[0], REPO) if found else f'{stem}.py'


def _plain_meta(value, path: str, what: str, depth: int = 0):
    """``value`` (a part of the checkpoint's meta that gets published) if it is JSON-like data of bounded depth."""
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
            raise CohortCheckpointError(f'{path}: its meta.{what} holds an integer of {value.bit_length()} bits')
        return value
    if depth < MAX_DEPTH and isinstance(value, (list, tuple)):
        return [_plain_meta(v, path, f'{what}[{i}]', depth + 1) for i, v in enumerate(value)]
    if depth < MAX_DEPTH and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain_meta(v, path, f'{what}.{k}', depth + 1) for k, v in value.items()}
    raise CohortCheckpointError(f'{path}: its meta.{what} is not plain data (a {type(value).__name__}'
                                f'{", nested too deep" if depth >= MAX_DEPTH else ""}); the file was altered. Use the '
                                'checkpoint as its run wrote it, or publish from a copy without that entry')


def publish_member(in_file: str,
                   out_stem: str,
                   member: int = 0,
                   with_head: bool = False,
                   config: str = None,
                   force: bool = False) -> Tuple[str, dict]:
    """Publish member ``member`` of a cohort checkpoint as ``<out_stem>_<YYYYMMDD>-<sha8>.pth`` (its weights),
    ``.py`` (an mmpretrain config of the member alone, made of literals only) and ``.json`` (metadata and a
    metafile entry), all three written atomically together.

    Args:
        in_file: a cohort training checkpoint written by tools/train.py.
        out_stem: the output name without date and hash, e.g. ``mcl_resnet18x2_in1k_member0``.
        member: the member's 0-based index.
        with_head: also publish the member's classifier (``head.*``), for predictions.
        config: the training config, for a checkpoint without one or to use instead of the stored one.
        force: replace existing outputs of the same name.

    Returns:
        (the ``.pth`` path, the metadata recorded in it).
    """
    if not osp.basename(out_stem) or not re.search(r'\w', osp.basename(out_stem)):
        raise CohortCheckpointError(f'the output name {out_stem!r} names no model: give a stem such as '
                                    'mcl_resnet18x2_in1k_member0 (the date and the hash are appended)')
    inputs = [in_file] + ([config] if config else [])
    check_output_paths([out_stem], inputs, force=True)  # the stem itself is never written; check where it points
    opened = open_member(in_file, member, config)
    cfg, member_cfg, ckpt_meta = opened.cfg, opened.model_cfg, opened.meta
    backbone = opened.weights('backbone')
    verify_backbone(backbone, dict(member_cfg['backbone']))
    weights = {f'backbone.{k}': v for k, v in backbone.items()}
    if with_head:
        weights.update({f'head.{k}': v for k, v in opened.weights('head').items()})

    experiment_name, epoch, iteration, dataset_meta = (
        _plain_meta(ckpt_meta.get(key), in_file, key) for key in ('experiment_name', 'epoch', 'iter', 'dataset_meta'))
    if not isinstance(dataset_meta or {}, dict):
        raise CohortCheckpointError(f'{in_file}: its meta.dataset_meta is a {type(dataset_meta).__name__}, not a '
                                    'dict; the file was altered. Use the checkpoint as its run wrote it')
    meta = dict(
        algorithm=str(cfg.model.get('type')),
        member=member,
        num_members=opened.num_members,
        arch=repr(member_cfg.get('backbone')),
        source_config=_source_config(experiment_name if isinstance(experiment_name, str) else None),
        experiment_name=experiment_name,
        epoch=epoch,
        iter=iteration,
        val_accuracy=_val_accuracy(in_file, epoch, member),
        keys='backbone.*' + (' + head.*' if with_head else ''),
        dataset_meta=dataset_meta or {},  # plain data only (checked above): what JSON can hold
        versions=_versions(),
    )
    date = datetime.date.today().strftime('%Y%m%d')
    data = serialize(dict(state_dict=weights, meta=meta))
    sha = hashlib.sha256(data).hexdigest()
    final = f'{out_stem}_{date}-{sha[:8]}.pth'
    sidecar, config_file = final[:-len('.pth')] + '.json', final[:-len('.pth')] + '.py'
    check_output_paths([final, sidecar, config_file], inputs, force)
    header = (f'# One member of an MCL cohort as an mmpretrain classifier: mmpretrain.get_model(this file, '
              f'pretrained={osp.basename(final)!r}).\n# Literals only; mcl_mm.apis.load_published_member reads it '
              'as data, without executing it.\n')
    try:
        inference_cfg = member_inference_config(cfg, member_cfg, meta['dataset_meta'])
    except (AttributeError, KeyError, TypeError, ValueError) as err:  # the stored config is data from a file
        raise CohortCheckpointError(f'the training config of {in_file} has no usable test pipeline or preprocessor '
                                    f'({type(err).__name__}: {err}); pass the training config with --config CONFIG') \
            from None
    try:
        text = literal_config_text(inference_cfg, header)
    except UnsafeConfigError as err:
        raise CohortCheckpointError(f'{in_file}: the member config cannot be published as plain data ({err})') from None
    outputs = {final: data, config_file: text.encode()}
    accuracy = meta['val_accuracy'] or {}
    metafile_entry = {
        'Name':
        osp.basename(out_stem),
        'In Collection':
        COLLECTIONS.get(meta['algorithm'], meta['algorithm']),
        'Config':
        osp.basename(config_file),
        'Metadata': {
            'Epochs': meta['epoch'],
            'Member': member,
            'Architecture': meta['arch'],
            'Training Config': meta['source_config']
        },
        'Results': [{
            'Task': 'Image Classification',
            'Metrics': {
                'Top 1 Accuracy': accuracy.get('member_top1'),
                'Top 1 Accuracy (ensemble)': accuracy.get('ensemble_top1')
            }
        }],
        'Weights':
        osp.basename(final),
    }
    side = dict(
        meta, file=osp.basename(final), sha256=sha, metafile_entry=metafile_entry, config=osp.basename(config_file))
    outputs[sidecar] = json.dumps(side, indent=2).encode()
    atomic_write_files(outputs)  # all three or none: a full disk leaves nothing half-published
    return final, meta


# What publish_model (ours and mmengine's) appends to a name: the date and the first 8 hex digits of the SHA-256
HASH_NAMED = re.compile(r'-([0-9a-f]{8})\.pth$')


def verify_published_hash(weights: str) -> Optional[str]:
    """Check a file whose name promises a hash (``NAME_YYYYMMDD-<sha8>.pth``, as publish_model writes): its
    SHA-256 must start with those 8 digits, and the ``.json`` beside it, when present, must name this file and
    its full hash. Returns the hash (None for a name that promises none).

    Raises:
        CohortCheckpointError: the file is not the one its name (or its ``.json``) promises.
    """
    promised = HASH_NAMED.search(osp.basename(weights))
    if promised is None:
        return None
    digest = hashlib.sha256()
    with open(weights, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    sha = digest.hexdigest()
    if not sha.startswith(promised.group(1)):
        raise CohortCheckpointError(f'{weights}: its name promises SHA-256 {promised.group(1)}..., the file hashes to '
                                    f'{sha[:8]}...: it was altered, renamed or not fully copied. Get the file again '
                                    'from whoever published it')
    sidecar = weights[:-len('.pth')] + '.json'
    if osp.isfile(sidecar):
        try:
            with open(sidecar, encoding='utf-8') as f:
                recorded = json.load(f)
        except (OSError, ValueError) as err:
            raise CohortCheckpointError(f'{sidecar} is not readable JSON ({err}); it cannot vouch for {weights}') \
                from None
        if not isinstance(recorded, dict) or recorded.get('sha256') != sha or \
                recorded.get('file') != osp.basename(weights):
            raise CohortCheckpointError(
                f'{sidecar} records another file ({recorded.get("file") if isinstance(recorded, dict) else None}, '
                f'SHA-256 {str(recorded.get("sha256") if isinstance(recorded, dict) else None)[:8]}...) than {weights} '
                f'({sha[:8]}...): the two do not belong together')
    return sha


def load_published_member(weights: str, config: Optional[str] = None, device: str = 'cpu'):
    """The mmpretrain classifier of a published member, built without executing anything from its files: the
    ``.py`` (default: beside ``weights``) is read as data (:func:`~mcl_mm.utils.safe_config.config_from_data_text`;
    anything but literals is refused) and the weights' hash is checked against their name and ``.json``.

    ``mmpretrain.get_model(PY, pretrained=PTH)`` runs the ``.py`` as Python: use it only for files you made or
    trust; this function is for a member someone else published.
    """
    from mmpretrain import get_model

    import mcl_mm.datasets  # noqa: F401 (registers mcl_mm's transforms, as the config's custom_imports would)
    import mcl_mm.models  # noqa: F401
    from mcl_mm.utils.safe_config import config_from_data_text
    config = config or weights[:-len('.pth')] + '.py'
    if not osp.isfile(weights) or not osp.isfile(config):
        raise CohortCheckpointError(f'a published member needs its weights and its config: {weights} / {config} '
                                    'not found')
    verify_published_hash(weights)
    with open(config, encoding='utf-8') as f:
        cfg = config_from_data_text(f.read(), config)
    return get_model(cfg, pretrained=weights, device=device)


def published_top1(config: str, checkpoint: str, image_folder: str, batch_size: int = 32) -> Tuple[float, int]:
    """(top-1 in %, number of images) of a published member on an image folder (``<class>/<image>``), loaded
    the way its users load it: ``mmpretrain.get_model(config, pretrained=checkpoint)``, the published test
    pipeline, classes in the published ``dataset_meta`` order. The config must hold the head (``--with-head``)."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmpretrain import get_model
    from mmpretrain.datasets import CustomDataset

    cfg = Config.fromfile(config)
    if 'head' not in cfg.model:
        raise RunRecordError(f'{config} has no classifier head: publish with --with-head to evaluate it')
    model = get_model(config, pretrained=checkpoint, device='cpu').eval()
    classes = (cfg.get('dataset_meta') or {}).get('classes')
    folders = sorted(d for d in os.listdir(image_folder) if osp.isdir(osp.join(image_folder, d)))
    if classes is not None and list(classes) != folders:  # CustomDataset labels the sorted folders 0, 1, ...
        raise RunRecordError(f'{image_folder} has the class folders {folders[:5]}..., the published model the '
                             f'classes {list(classes)[:5]}...: not the same classes in the same order')
    dataset = CustomDataset(data_root=image_folder, pipeline=cfg.test_pipeline, classes=classes)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = pseudo_collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            for sample in model.test_step(batch):
                correct += int(sample.pred_label.item() == sample.gt_label.item())
    return 100.0 * correct / len(dataset), len(dataset)
