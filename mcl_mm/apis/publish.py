"""tools/model_converters/publish_model.py: strip a cohort checkpoint down to one member, hash-name it, record
metadata."""
import copy
import datetime
import glob
import hashlib
import json
import os
import os.path as osp
import re
import warnings
from typing import Optional, Tuple

from mcl_mm.engine.atomic_io import atomic_write_files
from mcl_mm.utils.errors import RunRecordError
from mcl_mm.utils.logs import scalar_records
from .cohort_checkpoint import (check_finite, check_member, check_output_paths, load_cohort_checkpoint,
                                member_model_config, member_weights, serialize)
from .export import verify_backbone


def _val_accuracy(checkpoint: str, ckpt_meta: dict, member: int) -> Optional[dict]:
    """The member's and the ensemble's top-1/top-5 at the checkpoint's epoch, from the run's logs
    (:func:`scalar_records`: scalars.json, else the text log)."""
    epoch = ckpt_meta.get('epoch')
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


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
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


def publish_member(in_file: str,
                   out_stem: str,
                   member: int = 0,
                   with_head: bool = False,
                   config: str = None,
                   force: bool = False) -> Tuple[str, dict]:
    inputs = [in_file] + ([config] if config else [])
    check_output_paths([out_stem], inputs, force=True)  # the stem itself is never written; check where it points
    state_dict, ckpt_meta, cfg = load_cohort_checkpoint(in_file, config)
    check_member(state_dict, member, in_file)
    check_finite(state_dict, in_file, prefix=f'members.{member}.')
    member_cfg = member_model_config(cfg, member) if cfg is not None else {}
    backbone = member_weights(state_dict, member, 'backbone')
    if member_cfg:
        verify_backbone(backbone, dict(member_cfg['backbone']))
    weights = {f'backbone.{k}': v for k, v in backbone.items()}
    if with_head:
        weights.update({f'head.{k}': v for k, v in member_weights(state_dict, member, 'head').items()})

    meta = dict(
        algorithm=(cfg.model.get('type') if cfg is not None else 'MCL'),
        member=member,
        num_members=1 + max(int(k.split('.')[1]) for k in state_dict if k.startswith('members.')),
        arch=repr(member_cfg.get('backbone')) if member_cfg else None,
        source_config=_source_config(ckpt_meta.get('experiment_name')),
        experiment_name=ckpt_meta.get('experiment_name'),
        epoch=ckpt_meta.get('epoch'),
        iter=ckpt_meta.get('iter'),
        val_accuracy=_val_accuracy(in_file, ckpt_meta, member),
        keys='backbone.*' + (' + head.*' if with_head else ''),
        # plain data only (a weights-only load refuses anything else): what JSON can hold
        dataset_meta=json.loads(json.dumps(ckpt_meta.get('dataset_meta') or {}, default=str)),
        versions=_versions(),
    )
    date = datetime.date.today().strftime('%Y%m%d')
    data = serialize(dict(state_dict=weights, meta=meta))
    sha = hashlib.sha256(data).hexdigest()
    final = f'{out_stem}_{date}-{sha[:8]}.pth'
    sidecar, config_file = final[:-len('.pth')] + '.json', final[:-len('.pth')] + '.py'
    check_output_paths([final, sidecar] + ([config_file] if member_cfg else []), inputs, force)
    outputs = {final: data}
    if member_cfg:
        from mmengine.config import Config
        text = Config(member_inference_config(cfg, member_cfg, meta['dataset_meta'])).pretty_text
        header = (f'# One member of an MCL cohort as an mmpretrain classifier: mmpretrain.get_model(this file, '
                  f'pretrained={osp.basename(final)!r})\n')
        outputs[config_file] = (header + text).encode()
    accuracy = meta['val_accuracy'] or {}
    metafile_entry = {
        'Name':
        osp.basename(out_stem),
        'In Collection':
        COLLECTIONS.get(meta['algorithm'], meta['algorithm']),
        'Config':
        osp.basename(config_file) if member_cfg else meta['source_config'],
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
        meta,
        file=osp.basename(final),
        sha256=sha,
        metafile_entry=metafile_entry,
        config=osp.basename(config_file) if member_cfg else None)
    outputs[sidecar] = json.dumps(side, indent=2).encode()
    atomic_write_files(outputs)  # all three or none: a full disk leaves nothing half-published
    return final, meta


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
