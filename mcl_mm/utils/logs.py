"""Reading metrics from mmengine work dirs: ``vis_data/scalars.json`` or the text log, and whether a run reached
its configured end. Pure Python: importing this module loads neither torch nor any model."""
import glob
import json
import os.path as osp
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import RunRecordError, UnsafeConfigError
from .safe_config import config_from_data_text


def read_scalars(path: str) -> List[dict]:
    """The records of one ``scalars.json``. A cut-off last line (the run was killed while writing it) is
    skipped with a warning; an unreadable line elsewhere is an error naming the file and line."""
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                warnings.warn(f'{path}: the last line is cut off (the run was interrupted while logging); '
                              'it is left out')
                continue
            raise RunRecordError(f'{path}: line {number} is not a JSON record; the log is damaged') from None
    return records


_LOG_LINE = re.compile(r'mmengine - INFO - (Epoch|Iter)\((train|val)\)\s*((?:\[\s*[\d/]+\s*\])+)\s*(.*)$')
_LOG_VALUE = re.compile(r'([\w./-]+): (-?[\d.]+(?:e[-+]?\d+)?)(?=\s|$)')


def read_text_log(path: str) -> List[dict]:
    """Records (as ``scalars.json`` holds them) from mmengine's text log: the training and validation lines
    it always writes, whatever the visualization backends. Train records are stepped by iteration, epoch-based
    validation by epoch, iteration-based validation by the last training iteration."""
    records, last_iter = [], 0
    with open(path, errors='replace') as f:
        for line in f:
            match = _LOG_LINE.search(line.rstrip('\n'))
            if not match:
                continue
            unit, phase, brackets, rest = match.groups()
            counters = [part.strip() for part in re.findall(r'\[([^\]]*)\]', brackets)]
            values = {key: float(value) for key, value in _LOG_VALUE.findall(rest)}
            if not values:
                continue
            if phase == 'train':
                done, per = (int(x) for x in counters[-1].split('/'))
                step = (int(counters[0]) - 1) * per + done if unit == 'Epoch' else done
                last_iter = step
            else:
                step = int(counters[0]) if unit == 'Epoch' and len(counters) > 1 else last_iter
            records.append(dict(values, step=step))
    return records


def scalar_records(work_dir: str) -> List[dict]:
    """Every record of every run (timestamped sub-folder, resumed runs included) under a work dir, in order.

    Read from ``vis_data/scalars.json`` (mmengine's LocalVisBackend); a run that logged only to TensorBoard or
    W&B is read from its text log instead. A work dir with neither is an error naming what it holds."""
    records, runs, empty = [], sorted(d for d in glob.glob(osp.join(work_dir, '*')) if osp.isdir(d)), []
    for run in runs:
        scalars = osp.join(run, 'vis_data', 'scalars.json')
        text_log = osp.join(run, f'{osp.basename(run)}.log')
        if osp.exists(scalars):
            found = read_scalars(scalars)
            if not found:
                empty.append(scalars)
            records += found
        elif osp.exists(text_log):
            records += read_text_log(text_log)
    if not records and empty:
        raise RunRecordError(f'{empty[-1]} is empty: the run stopped before it logged a single record')
    if not records and runs:
        found = sorted({osp.basename(p)
                        for p in glob.glob(osp.join(work_dir, '*', 'vis_data', '*'))}
                       | {osp.basename(p)
                          for p in glob.glob(osp.join(work_dir, '*', '*'))})
        if found:
            raise RunRecordError(f'{work_dir}: no vis_data/scalars.json and no <timestamp>.log with metrics in its '
                                 f'run folders (found: {", ".join(found[:8])}); keep LocalVisBackend in '
                                 'vis_backends or the text log mmengine writes')
    return records


def planned_length(work_dir: str) -> Optional[Tuple[str, int]]:
    """(``'epoch'`` or ``'iter'``, the configured last one) from the config mmengine dumps into the work dir,
    read as data (never executed); None when no dump is readable."""
    # The dump lies in the work dir, or in its run folder (<timestamp>/) when a config of the user's has its name.
    dumps = glob.glob(osp.join(work_dir, '*.py')) + [
        p for p in glob.glob(osp.join(work_dir, '*', '*.py'))
        if re.fullmatch(r'\d{8}_\d{6}', osp.basename(osp.dirname(p)))
    ]
    for path in sorted(dumps, key=osp.getmtime, reverse=True):
        try:
            with open(path) as f:
                cfg = config_from_data_text(f.read(), path)
        except (OSError, UnsafeConfigError):
            continue
        train_cfg = cfg.get('train_cfg') or {}
        if 'max_epochs' in train_cfg:
            return 'epoch', int(train_cfg['max_epochs'])
        if 'max_iters' in train_cfg:
            return 'iter', int(train_cfg['max_iters'])
    return None


def run_status(work_dir: str, keys: Sequence[str]) -> Tuple[bool, str]:
    """(finished, why): finished = a record holding one of ``keys`` at the configured last epoch / iteration
    (mmengine always validates there)."""
    plan = planned_length(work_dir)
    if plan is None:
        return False, f'{work_dir} holds no readable config dump, so its planned length is unknown'
    unit, last = plan
    steps = [r.get('step') for r in scalar_records(work_dir) if any(k in r for k in keys)]
    if last in steps:
        return True, ''
    reached = max((s for s in steps if isinstance(s, int)), default=None)
    return False, f'{work_dir} stopped before its last {unit} ({unit} {last}; last evaluated: {reached})'


def last_metrics(work_dir: str, keys: Sequence[str]) -> Dict[str, float]:
    """The final value of each of ``keys`` in the work dir's logs: the one logged at the configured last epoch /
    iteration when the logs hold it (a later run started in the same work dir and killed early logs lower steps
    after it), else the latest one."""
    records = scalar_records(work_dir)
    plan = planned_length(work_dir)
    at_end = [r for r in records if plan is not None and r.get('step') == plan[1] and any(k in r for k in keys)]
    found = {}
    for record in at_end or records:
        for key in keys:
            if key in record:
                found[key] = record[key]
    if not found:
        raise RunRecordError(f'no {", ".join(keys)} in {work_dir}: it has no validation record of these metrics')
    return found
