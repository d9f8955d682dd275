"""Reading metrics from mmengine work dirs and writing comparison tables (markdown, CSV) and bar charts."""
import csv
import glob
import json
import os
import os.path as osp
import statistics
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

TRANSFER_METRICS = OrderedDict([
    ('coco/bbox_mAP', 'box AP'),
    ('coco/segm_mAP', 'mask AP'),
    ('pascal_voc/mAP', 'VOC mAP'),
    ('mIoU', 'mIoU'),
])


# Pretraining (cohort) metrics written by CohortAccuracy; L-MCL adds the auxiliary classifiers and aggregate.
PRETRAIN_METRICS = OrderedDict(
    [('cohort/member_0/top1', 'member 0 top-1'), ('cohort/member_1/top1', 'member 1 top-1'),
     ('cohort/ensemble/top1', 'ensemble top-1')] +
    [(f'cohort/member_{i}/s{k}/top1', f'member {i} s{k} top-1') for i in range(2) for k in (1, 2, 3)] +
    [(f'cohort/member_{i}/aggregate/top1', f'member {i} aggregate top-1') for i in range(2)])


def collect_runs(runs: Sequence[str], metrics: 'OrderedDict[str, str]', out_dir: str, name: str, title: str,
                 first_column: str, to_percent=lambda key: False, zoom: bool = False):
    """``LABEL=WORK_DIR`` runs -> one row per label (mean ± std over its runs) in <name>.md/.csv and a chart.

    Returns (markdown, chart path or None). ``to_percent(key)`` says which metrics are fractions to scale.
    """
    rows = OrderedDict()
    for spec in runs:
        if '=' not in spec:
            raise SystemExit(f'--run takes LABEL=WORK_DIR, got {spec!r}')
        label, work_dir = spec.split('=', 1)
        row = rows.setdefault(label, {})
        for key, value in last_metrics(work_dir, list(metrics)).items():
            row.setdefault(key, []).append(value * 100 if to_percent(key) else value)
    markdown = write_table(rows, metrics, out_dir, name, first_column=first_column)
    chart = bar_chart(rows, metrics, osp.join(out_dir, f'{name}.png'), title, zoom=zoom)
    return markdown, chart


def collector_cli(argv, tool: str, description: str, **collect_kwargs) -> None:
    """The shared command line of tools/analysis/collect_*.py: ``--run LABEL=WORK_DIR ... --out DIR``."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--run', action='append', required=True, help='LABEL=WORK_DIR (repeatable)')
    parser.add_argument('--out', required=True, help='output folder for the table (.md, .csv) and chart (.png)')
    args = parser.parse_args(argv)
    try:
        markdown, chart = collect_runs(args.run, out_dir=args.out, **collect_kwargs)
    except FileNotFoundError as err:
        raise SystemExit(f'{tool}: {err}')
    name = collect_kwargs['name']
    print(markdown)
    print(f'written: {args.out}/{name}.md, {name}.csv' + (f', {chart}' if chart else ''))


def scalar_records(work_dir: str) -> List[dict]:
    """Every record of every run (timestamped sub-folder, resumed runs included) under a work dir, in order."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def last_metrics(work_dir: str, keys: Sequence[str]) -> Dict[str, float]:
    """The latest value of each of ``keys`` found in the work dir's logs."""
    found = {}
    for record in scalar_records(work_dir):
        for key in keys:
            if key in record:
                found[key] = record[key]
    if not found:
        raise FileNotFoundError(f'no {", ".join(keys)} in {work_dir}: is it a finished (evaluated) run?')
    return found


def summarise(values: List[float]) -> str:
    if not values:
        return '–'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def write_table(rows: 'OrderedDict[str, Dict[str, List[float]]]', columns: 'OrderedDict[str, str]', out_dir: str,
                name: str, first_column: str = 'initialisation') -> str:
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
                cells += [f'{statistics.mean(values):.4f}' if values else '',
                          f'{statistics.stdev(values):.4f}' if len(values) > 1 else '', len(values)]
            writer.writerow([label] + cells)
    return markdown


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
