"""Reading metrics from mmengine work dirs and writing comparison tables (markdown, CSV) and bar charts."""
import csv
import glob
import json
import math
import os
import os.path as osp
import re
import statistics
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import RunRecordError, UnsafeConfigError

TRANSFER_METRICS = OrderedDict([
    ('coco/bbox_mAP', 'box AP'),
    ('coco/segm_mAP', 'mask AP'),
    ('pascal_voc/mAP', 'VOC mAP'),
    ('mIoU', 'mIoU'),
])

# Pretraining (cohort) metrics written by CohortAccuracy; L-MCL adds the auxiliary classifiers and aggregate.
PRETRAIN_METRICS = OrderedDict([('cohort/member_0/top1', 'member 0 top-1'), ('cohort/member_1/top1', 'member 1 top-1'),
                                ('cohort/ensemble/top1', 'ensemble top-1')] +
                               [(f'cohort/member_{i}/s{k}/top1', f'member {i} s{k} top-1') for i in range(2)
                                for k in (1, 2, 3)] +
                               [(f'cohort/member_{i}/aggregate/top1', f'member {i} aggregate top-1') for i in range(2)])


def collect_runs(runs: Sequence[str],
                 metrics: 'OrderedDict[str, str]',
                 out_dir: str,
                 name: str,
                 title: str,
                 first_column: str,
                 to_percent=lambda key: False,
                 zoom: bool = False,
                 strict: bool = False):
    """``LABEL=WORK_DIR`` runs -> one row per label (mean ± std over its runs, n per cell) in <name>.md/.csv and
    a chart.

    A run that did not reach its configured last epoch / iteration is left out with a warning (``strict``:
    an error). Returns (markdown, chart path or None). ``to_percent(key)`` says which metrics are fractions.
    """
    rows = OrderedDict()
    for spec in runs:
        if '=' not in spec:
            raise RunRecordError(f'--run takes LABEL=WORK_DIR, got {spec!r}')
        label, work_dir = spec.split('=', 1)
        if not osp.isdir(work_dir):
            raise RunRecordError(f'--run {spec}: {work_dir} is not a folder (give the work_dir of a tools/train.py '
                                 'run)')
        row = rows.setdefault(label, {})
        finished, why = run_status(work_dir, list(metrics))
        if not finished:
            if strict:
                raise RunRecordError(f'{why} (--strict)')
            warnings.warn(f'{why}: left out of the table')
            continue
        for key, value in last_metrics(work_dir, list(metrics)).items():
            row.setdefault(key, []).append(value * 100 if to_percent(key) else value)
    if not any(rows.values()):
        raise RunRecordError('no run to tabulate: none of the given runs finished (see the warnings above)')
    markdown = write_table(rows, metrics, out_dir, name, first_column=first_column)
    chart = bar_chart(rows, metrics, osp.join(out_dir, f'{name}.png'), title, zoom=zoom)
    return markdown, chart


def collector_cli(argv, tool: str, description: str, **collect_kwargs) -> None:
    """The shared command line of tools/analysis_tools/collect_*.py: ``--run LABEL=WORK_DIR ... --out DIR``."""
    import argparse

    from .cli import run_tool
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--run', action='append', required=True, help='LABEL=WORK_DIR (repeatable)')
    parser.add_argument('--out', required=True, help='output folder for the table (.md, .csv) and chart (.png)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='fail on a run that did not finish (default: '
        'leave it out with a warning)')
    args = parser.parse_args(argv)
    if osp.exists(args.out) and not osp.isdir(args.out):
        raise SystemExit(f'{tool}: --out {args.out} is a file; give a folder')
    markdown, chart = run_tool(tool, collect_runs, args.run, out_dir=args.out, strict=args.strict, **collect_kwargs)
    name = collect_kwargs['name']
    print(markdown)
    print(f'written: {args.out}/{name}.md, {name}.csv' + (f', {chart}' if chart else ''))


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
    records, runs = [], sorted(d for d in glob.glob(osp.join(work_dir, '*')) if osp.isdir(d))
    for run in runs:
        scalars = osp.join(run, 'vis_data', 'scalars.json')
        text_log = osp.join(run, f'{osp.basename(run)}.log')
        if osp.exists(scalars):
            records += read_scalars(scalars)
        elif osp.exists(text_log):
            records += read_text_log(text_log)
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
    from .safe_config import config_from_data_text

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
    """The latest value of each of ``keys`` found in the work dir's logs."""
    found = {}
    for record in scalar_records(work_dir):
        for key in keys:
            if key in record:
                found[key] = record[key]
    if not found:
        raise RunRecordError(f'no {", ".join(keys)} in {work_dir}: it has no validation record of these metrics')
    return found


def t_quantile_975(dof: int) -> float:
    from scipy.stats import t
    return float(t.ppf(0.975, dof))


def paired_interval(values: Sequence[float], reference: Sequence[float]) -> Tuple[float, float, float]:
    """Mean of the per-seed differences ``values - reference`` and its 95 % t interval (low, high)."""
    diffs = [v - r for v, r in zip(values, reference, strict=True)]
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return mean, math.nan, math.nan
    half = t_quantile_975(len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def format_interval(mean: float, low: float, high: float) -> str:
    """``+1.01 [+0.28, +1.74]`` (no interval from a single seed)."""
    return f'{mean:+.2f}' + ('' if math.isnan(low) else f' [{low:+.2f}, {high:+.2f}]')


def summarise(values: List[float]) -> str:
    """``mean ± std (n=k)``; one value is shown alone with n=1."""
    if not values:
        return '–'
    if len(values) == 1:
        return f'{values[0]:.2f} (n=1)'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (n={len(values)})'


def write_table(rows: 'OrderedDict[str, Dict[str, List[float]]]',
                columns: 'OrderedDict[str, str]',
                out_dir: str,
                name: str,
                first_column: str = 'initialisation') -> str:
    """rows: label -> {metric key -> values}; writes <name>.md and <name>.csv, returns the markdown."""
    os.makedirs(out_dir, exist_ok=True)
    used = [k for k in columns if any(k in r for r in rows.values())]
    header = [first_column] + [columns[k] for k in used]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for label, metrics in rows.items():
        lines.append('| ' + ' | '.join([label] + [summarise(metrics.get(k, [])) for k in used]) + ' |')
    markdown = '\n'.join(lines) + '\n'
    with open(osp.join(out_dir, f'{name}.md'), 'w') as f:
        f.write(markdown)
    with open(osp.join(out_dir, f'{name}.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([first_column] + sum([[columns[k] + ' mean', columns[k] + ' std', columns[k] + ' n']
                                              for k in used], []))
        for label, metrics in rows.items():
            cells = []
            for k in used:
                values = metrics.get(k, [])
                cells += [
                    f'{statistics.mean(values):.4f}' if values else '',
                    f'{statistics.stdev(values):.4f}' if len(values) > 1 else '',
                    len(values)
                ]
            writer.writerow([label] + cells)
    return markdown


def paired_table(per_seed: Dict[str, Dict[str, Dict[int, float]]], pairs: Sequence[Tuple[str, str]],
                 columns: 'OrderedDict[str, str]', labels: Dict[str, str]) -> str:
    """Markdown: one row per (arm, reference) pair, per metric the mean per-seed difference arm - reference and
    its 95 % t interval over the seeds both have. per_seed: arm -> metric -> {seed: value}."""
    used = [k for k in columns if any(k in per_seed[a] and k in per_seed[r] for a, r in pairs)]
    lines = ['| difference | ' + ' | '.join(columns[k] for k in used) + ' |', '|' + '---|' * (len(used) + 1)]
    for arm, ref in pairs:
        cells = []
        for k in used:
            a, r = per_seed[arm].get(k, {}), per_seed[ref].get(k, {})
            seeds = sorted(set(a) & set(r))
            cells.append(
                format_interval(*paired_interval([a[i] for i in seeds], [r[i] for i in seeds])) +
                f' (n={len(seeds)})' if seeds else '–')
        lines.append(f'| {labels[arm]} − {labels[ref]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def write_long_csv(per_seed: Dict[str, Dict[str, Dict[int, float]]], path: str) -> None:
    """One row per arm x seed x metric: ``arm,seed,metric,value``."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['arm', 'seed', 'metric', 'value'])
        for arm, metrics in per_seed.items():
            for metric, values in metrics.items():
                for seed, value in sorted(values.items()):
                    writer.writerow([arm, seed, metric, f'{value:.4f}'])


def bar_chart(rows, columns, path: str, title: str, zoom: bool = False) -> Optional[str]:
    """Grouped bars (one group per metric, one bar per row label) with std error bars; a missing value draws
    no bar. ``zoom`` starts the y axis just below the lowest bar (said in the title) so close results differ
    visibly."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    used = [k for k in columns if any(k in r for r in rows.values())]
    if not used:
        return None
    labels = list(rows)
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(used), 3.6))
    lowest = float('inf')
    for i, label in enumerate(labels):
        means = [statistics.mean(rows[label][k]) if rows[label].get(k) else np.nan for k in used]
        stds = [statistics.stdev(rows[label][k]) if len(rows[label].get(k, [])) > 1 else 0 for k in used]
        ax.bar(np.arange(len(used)) + i * width, means, width, yerr=stds, label=label, capsize=3)
        lowest = min([lowest] + [m - s for m, s in zip(means, stds) if not np.isnan(m)])
    ax.set_xticks(np.arange(len(used)) + width * (len(labels) - 1) / 2)
    ax.set_xticklabels([columns[k] for k in used], rotation=30, ha='right')
    if zoom and np.isfinite(lowest):
        bottom = max(0.0, 5 * np.floor((lowest - 2) / 5))
        ax.set_ylim(bottom=bottom)
        title = f'{title} (y axis from {bottom:g})'
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


NOT_CURVES = ('step', 'epoch', 'iter', 'time', 'data_time', 'lr', 'memory')


def plot_curves(runs: 'OrderedDict[str, str]',
                path: str,
                title: str = '',
                metrics: Optional[Sequence[str]] = None,
                losses: Optional[Sequence[str]] = None) -> str:
    """Training curves of one or more runs (label -> work dir) written to ``path``: see :func:`curve_figure`."""
    import matplotlib.pyplot as plt
    fig = curve_figure(runs, title, metrics, losses)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def curve_figure(runs: 'OrderedDict[str, str]',
                 title: str = '',
                 metrics: Optional[Sequence[str]] = None,
                 losses: Optional[Sequence[str]] = None):
    """A figure of every loss term per iteration (log scale) and every validation metric per evaluation (each
    member, the ensemble, stage classifiers, mAP, mIoU, ...) of each run.

    ``metrics`` / ``losses``: the keys to draw (default: all the runs logged); a run missing one is skipped.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    styles = ['-', '--', ':', '-.']
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(13, 4.5))
    drawn = 0
    for n, (label, work_dir) in enumerate(runs.items()):
        records = scalar_records(work_dir)
        if not records:
            raise RunRecordError(f'{work_dir}: no logged records (is it a tools/train.py work dir?)')
        train = [r for r in records if 'loss' in r]
        val = [r for r in records if 'loss' not in r and any(k not in NOT_CURVES for k in r)]
        loss_keys = losses or sorted({k for r in train for k in r if k.startswith('loss')})
        val_keys = metrics or sorted({k for r in val for k in r if k not in NOT_CURVES and not k.endswith('top5')})
        prefix = f'{label}: ' if len(runs) > 1 else ''
        for key in loss_keys:
            points = [(r['step'], r[key]) for r in train if key in r and r[key] > 0]
            if points:
                ax_loss.plot(*zip(*points), styles[n % 4], label=prefix + key, linewidth=1)
                drawn += 1
        for key in val_keys:
            points = [(r['step'], r[key]) for r in val if key in r]
            if points:
                ax_val.plot(
                    *zip(*points), styles[n % 4], marker='o', markersize=3, label=prefix + key.split('cohort/')[-1])
                drawn += 1
    if not drawn:
        raise RunRecordError(f'nothing to plot: none of {list(runs.values())} logged the requested keys')
    ax_loss.set(title='training losses (weighted terms)', xlabel='iteration', yscale='log')
    ax_val.set(title='validation', xlabel='epoch / iteration of the evaluation')
    for ax in (ax_loss, ax_val):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=6, ncol=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
