"""tools/publish_model.py: strip a cohort checkpoint down to one member, hash-name it, record metadata."""
import datetime
import glob
import hashlib
import json
import os.path as osp
import re
from typing import Optional, Tuple

from mcl_mm.engine.atomic_io import atomic_write_bytes

from .cohort_checkpoint import (check_finite, check_member, check_output_paths, load_cohort_checkpoint,
                                member_model_config, member_weights, serialize)
from .export import verify_backbone
from .results import scalar_records


def _val_accuracy(checkpoint: str, ckpt_meta: dict, member: int) -> Optional[dict]:
    """The member's and the ensemble's top-1/top-5 at the checkpoint's epoch, from the run's scalars.json."""
    epoch = ckpt_meta.get('epoch')
    records = [r for r in scalar_records(osp.dirname(osp.abspath(checkpoint))) if 'cohort/ensemble/top1' in r]
    matching = [r for r in records if r.get('step') == epoch]
    if not matching:
        return None
    record = matching[-1]
    pick = {f'member_{k}': record.get(f'cohort/member_{member}/{k}') for k in ('top1', 'top5')}
    pick.update({f'ensemble_{k}': record.get(f'cohort/ensemble/{k}') for k in ('top1', 'top5')})
    pick = {k: v for k, v in pick.items() if v is not None}
    pick['epoch'] = epoch
    return pick


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
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


def publish_member(in_file: str, out_stem: str, member: int = 0, with_head: bool = False, config: str = None,
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
    )
    date = datetime.date.today().strftime('%Y%m%d')
    data = serialize(dict(state_dict=weights, meta=meta))
    sha = hashlib.sha256(data).hexdigest()
    final = f'{out_stem}_{date}-{sha[:8]}.pth'
    sidecar = final[:-len('.pth')] + '.json'
    check_output_paths([final, sidecar], inputs, force)
    atomic_write_bytes(data, final)
    accuracy = meta['val_accuracy'] or {}
    metafile_entry = {
        'Name': osp.basename(out_stem),
        'In Collection': COLLECTIONS.get(meta['algorithm'], meta['algorithm']),
        'Config': meta['source_config'],
        'Metadata': {'Epochs': meta['epoch'], 'Member': member, 'Architecture': meta['arch']},
        'Results': [{'Task': 'Image Classification', 'Metrics': {
            'Top 1 Accuracy': accuracy.get('member_top1'), 'Top 1 Accuracy (ensemble)': accuracy.get('ensemble_top1')}}],
        'Weights': osp.basename(final),
    }
    side = dict(meta, file=osp.basename(final), sha256=sha, metafile_entry=metafile_entry)
    atomic_write_bytes(json.dumps(side, indent=2).encode(), sidecar)
    return final, meta
