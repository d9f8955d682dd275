"""Comparison tables (markdown, CSV), paired intervals and charts of runs, shared by the demo, the study, the transfer
study and tools/analysis_tools/collect_*.py."""
import csv
import math
import os
import os.path as osp
import statistics
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from mcl_mm.utils.cli import run_tool
from mcl_mm.utils.errors import RunRecordError
from mcl_mm.utils.logs import last_metrics, run_status, scalar_records

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
    rows, seen = OrderedDict(), {}
    for spec in runs:
        if '=' not in spec:
            raise RunRecordError(f'--run takes LABEL=WORK_DIR, got {spec!r}')
        label, work_dir = spec.split('=', 1)
        if not osp.isdir(work_dir):
            raise RunRecordError(f'--run {spec}: {work_dir} is not a folder (give the work_dir of a tools/train.py '
                                 'run)')
        real = osp.realpath(work_dir)
        if real in seen:
            raise RunRecordError(f'--run {spec}: {work_dir} is the run already given as --run {seen[real]}; each '
                                 'run counts once (n would count it twice)')
        seen[real] = spec
        row = rows.setdefault(label, {})
        finished, why = run_status(work_dir, list(metrics))
        values = last_metrics(work_dir, list(metrics)) if finished else {}
        bad = {k: v for k, v in values.items() if not (isinstance(v, (int, float)) and math.isfinite(v))}
        if bad:
            finished, why = False, (f'{work_dir} logged {", ".join(f"{k} = {v}" for k, v in bad.items())} at its end '
                                    '(the run diverged, or its log was altered)')
        if not finished:
            if strict:
                raise RunRecordError(f'{why} (--strict)')
            warnings.warn(f'{why}: left out of the table')
            continue
        for key, value in values.items():
            row.setdefault(key, []).append(value * 100 if to_percent(key) else value)
    if not any(rows.values()):
        raise RunRecordError('no run to tabulate: none of the given runs finished (see the warnings above)')
    markdown = write_table(rows, metrics, out_dir, name, first_column=first_column)
    chart = bar_chart(rows, metrics, osp.join(out_dir, f'{name}.png'), title, zoom=zoom)
    return markdown, chart


def collector_cli(argv, tool: str, description: str, **collect_kwargs) -> None:
    """The shared command line of tools/analysis_tools/collect_*.py: ``--run LABEL=WORK_DIR ... --out DIR``."""
    import argparse

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


def t_quantile_975(dof: int) -> float:
    """The 97.5 % quantile of Student's t with ``dof`` degrees of freedom (the half-width factor of a 95 % interval)."""
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


def markdown_table(rows: 'OrderedDict[str, Dict[str, List[float]]]',
                   columns: 'OrderedDict[str, str]',
                   first_column: str = 'initialisation') -> str:
    """rows: label -> {metric key -> values}; one row per label, ``mean ± std (n=k)`` per metric (the columns
    no row has are left out)."""
    used = [k for k in columns if any(k in r for r in rows.values())]
    header = [first_column] + [columns[k] for k in used]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for label, metrics in rows.items():
        lines.append('| ' + ' | '.join([label] + [summarise(metrics.get(k, [])) for k in used]) + ' |')
    return '\n'.join(lines) + '\n'


def write_table(rows: 'OrderedDict[str, Dict[str, List[float]]]',
                columns: 'OrderedDict[str, str]',
                out_dir: str,
                name: str,
                first_column: str = 'initialisation') -> str:
    """:func:`markdown_table` written to <name>.md, with mean, std and n per metric in <name>.csv; returns the
    markdown."""
    os.makedirs(out_dir, exist_ok=True)
    used = [k for k in columns if any(k in r for r in rows.values())]
    markdown = markdown_table(rows, columns, first_column)
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


def seed_rows(per_seed: Dict[str, Dict[str, Dict[int, float]]], labels: Dict[str, str]):
    """arm -> metric -> {seed: value}  ->  label -> metric -> [values in seed order] (the rows of the tables)."""
    return OrderedDict((labels[arm], {
        k: [v[s] for s in sorted(v)]
        for k, v in metrics.items()
    }) for arm, metrics in per_seed.items())


def paired_values(per_seed: Dict[str, Dict[str, Dict[int, float]]], arm: str, reference: str,
                  metric: str) -> Tuple[List[int], List[float], List[float]]:
    """The seeds both arms have for ``metric``, and each arm's values on them."""
    a, r = per_seed[arm].get(metric, {}), per_seed[reference].get(metric, {})
    common = sorted(set(a) & set(r))
    return common, [a[s] for s in common], [r[s] for s in common]


def paired_table(per_seed: Dict[str, Dict[str, Dict[int, float]]],
                 pairs: Sequence[Tuple[str, str]],
                 columns: 'OrderedDict[str, str]',
                 labels: Dict[str, str],
                 per_seed_column: Optional[str] = None) -> str:
    """Markdown: one row per (arm, reference) pair, per metric the mean per-seed difference arm - reference and
    its 95 % t interval over the seeds both have (n). per_seed: arm -> metric -> {seed: value}.
    ``per_seed_column``: a metric whose per-seed differences are listed in a last column."""
    used = [k for k in columns if any(k in per_seed[a] and k in per_seed[r] for a, r in pairs)]
    extra = [f'per-seed {columns[per_seed_column]} difference'] if per_seed_column else []
    header = ['difference'] + [columns[k] for k in used] + extra
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for arm, ref in pairs:
        cells = []
        for k in used:
            seeds, values, reference = paired_values(per_seed, arm, ref, k)
            cells.append(format_interval(*paired_interval(values, reference)) + f' (n={len(seeds)})' if seeds else '–')
        if per_seed_column:
            _, values, reference = paired_values(per_seed, arm, ref, per_seed_column)
            cells.append(', '.join(f'{v - r:+.2f}' for v, r in zip(values, reference)) or '–')
        lines.append(f'| {labels[arm]} − {labels[ref]} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def restrict_seeds(per_seed: Dict[str, Dict[str, Dict[int, float]]], seeds: Sequence[int]):
    """``per_seed`` (arm -> metric -> {seed: value}) restricted to ``seeds`` (one world draw of a study)."""
    return OrderedDict((arm,
                        OrderedDict((m, OrderedDict((s, v) for s, v in values.items() if s in seeds))
                                    for m, values in metrics.items())) for arm, metrics in per_seed.items())


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


def seed_scatter(per_seed: Dict[str, Dict[str, Dict[int, float]]], labels: Dict[str, str],
                 columns: 'OrderedDict[str, str]', path: str) -> str:
    """One panel per metric: every seed's value of every arm as a point, and the arm's mean ± std."""
    fig, axes = _panels(len(columns))
    for ax, (metric, title) in zip(axes, columns.items()):
        for x, arm in enumerate(per_seed):
            values = list(per_seed[arm].get(metric, {}).values())
            if not values:
                continue
            ax.scatter([x] * len(values), values, s=14, alpha=0.6)
            spread = statistics.stdev(values) if len(values) > 1 else 0
            ax.errorbar(x + 0.15, statistics.mean(values), yerr=spread, fmt='o', color='k', capsize=3)
        ax.set_xticks(range(len(per_seed)), [labels[a] for a in per_seed], rotation=25, ha='right')
        ax.set(title=f'{title}\nseeds, mean ± std')
        ax.grid(axis='y', alpha=0.3)
    return _save(fig, path)


def paired_difference_plot(per_seed: Dict[str, Dict[str, Dict[int, float]]], pairs: Sequence[Tuple[str, str]],
                           columns: 'OrderedDict[str, str]', labels: Dict[str, str], path: str) -> str:
    """One panel per metric: each pair's per-seed differences (points), their mean and 95 % t interval."""
    fig, axes = _panels(len(columns))
    for ax, (metric, title) in zip(axes, columns.items()):
        for x, (arm, ref) in enumerate(pairs):
            _, values, reference = paired_values(per_seed, arm, ref, metric)
            if not values:
                continue
            diffs = [v - r for v, r in zip(values, reference)]
            mean, low, high = paired_interval(values, reference)
            ax.scatter([x] * len(diffs), diffs, s=14, alpha=0.6)
            if not math.isnan(low):
                ax.errorbar(x + 0.15, mean, yerr=[[mean - low], [high - mean]], fmt='o', color='k', capsize=3)
        ax.axhline(0, color='grey', linewidth=1)
        ax.set_xticks(range(len(pairs)), [f'{labels[a]} − {labels[r]}' for a, r in pairs], rotation=25, ha='right')
        ax.set(title=f'{title}\nper-seed difference, mean, 95 % CI')
        ax.grid(axis='y', alpha=0.3)
    return _save(fig, path)


def _panels(count: int, per_row: int = 3):
    """A figure with ``count`` panels, at most ``per_row`` side by side (a single row of six is unreadable)."""
    plt = _pyplot()
    rows, cols = math.ceil(count / per_row), min(count, per_row)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    axes = list(axes.flat)
    for spare in axes[count:]:
        spare.set_visible(False)
    return fig, axes[:count]


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> str:
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
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
