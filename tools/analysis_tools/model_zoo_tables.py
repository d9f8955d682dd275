"""Write the results table of every model in a metafile into its README (OpenMMLab model-zoo layout).

    python tools/analysis_tools/model_zoo_tables.py [configs/mcl/metafile.yml ...] [--check]

One row per metafile model: the config, the parameters of each member as it is exported (backbone +
classifier; a shared trunk counted in every member, embedding heads, projection necks and auxiliary branches
left out, since they are dropped after training), the member and ensemble top-1 and the model | log links. Top-1
comes from the metafile: the authors' numbers, marked "(authors)", until a published run of ours adds `Weights` (and
its own metrics) to the entry. The table sits between ``<!-- model-zoo:begin -->`` and
``<!-- model-zoo:end -->`` in the README the metafile's collection names; ``--check`` fails when it is stale.
"""
import argparse
import os.path as osp
import sys
from typing import List

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILES = ('configs/mcl/metafile.yml', 'configs/lmcl/metafile.yml', 'configs/dml/metafile.yml',
             'configs/moco_mcl/metafile.yml')
BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'


def member_parameters(config_path: str) -> List[int]:
    """Parameters of each member as exported: backbone + classifier of ``members.<i>`` (a self-supervised
    member's backbone alone; its projection neck is dropped like a supervised member's embedding head)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mcl_mm.models.algorithms.cohort import member_configs
    from mcl_mm.registry import MODELS
    init_default_scope('mcl_mm')
    model = Config.fromfile(config_path).model
    counts = []
    # The members alone (not the memory banks or auxiliary branches, which are dropped after training), each on
    # its own: a shared trunk counts in every member, as it does once the member is exported.
    for member_cfg in member_configs(model['members'], model.get('num_members'), model['type']):
        key = repr(member_cfg)  # many configs share a member architecture: build each one once
        if key not in _COUNTED:
            member = MODELS.build(member_cfg)
            parts = [m for m in (member.backbone, getattr(member, 'head', None)) if m is not None]
            _COUNTED[key] = sum(p.numel() for module in parts for p in module.parameters())
        counts.append(_COUNTED[key])
    return counts


_COUNTED = {}


def top1_cells(entry: dict, num_members: int) -> List[str]:
    """Member and ensemble top-1 cells from the entry's metrics; the authors' until the entry has Weights."""
    metrics = {}
    for result in entry.get('Results') or []:
        metrics.update(result.get('Metrics') or {})
    source = '' if entry.get('Weights') else ' (authors)'
    per_member = [metrics.get(f'Top 1 Accuracy (member {i})') for i in range(num_members)]
    if any(v is not None for v in per_member):
        member = ' / '.join('–' if v is None else f'{v:.2f}' for v in per_member) + source
    elif 'Top 1 Accuracy' in metrics:
        member = f"{metrics['Top 1 Accuracy']:.2f} (best member{source and ', authors'})"
    else:
        member = '–'
    ensemble = metrics.get('Top 1 Accuracy (ensemble)')
    return [member, '–' if ensemble is None else f'{ensemble:.2f}{source}']


def table(metafile: str) -> str:
    meta = yaml.safe_load(open(osp.join(REPO, metafile)))
    rows = [
        '| config | params per member (M) | member top-1 | ensemble top-1 | model \\| log |', '|---|---|---|---|---|'
    ]
    for entry in meta['Models']:
        params = member_parameters(osp.join(REPO, entry['Config']))
        sizes = ' / '.join(f'{p / 1e6:.2f}' for p in params) if len(set(params)) > 1 else \
            f'{params[0] / 1e6:.2f} (×{len(params)})'
        links = ' \\| '.join(f'[{name}]({entry[key]})'
                             for name, key in (('model', 'Weights'), ('log', 'Log')) if entry.get(key)) or '–'
        rows.append(f"| [{osp.basename(entry['Config'])}]({osp.relpath(entry['Config'], osp.dirname(metafile))}) "
                    f"| {sizes} | {' | '.join(top1_cells(entry, len(params)))} | {links} |")
    return '\n'.join(rows)


def readme_of(metafile: str) -> str:
    meta = yaml.safe_load(open(osp.join(REPO, metafile)))
    return osp.join(REPO, meta['Collections'][0]['README'])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('metafiles', nargs='*', default=list(METAFILES))
    parser.add_argument('--check', action='store_true', help='fail when a README table is not up to date')
    args = parser.parse_args(argv)
    stale = []
    for metafile in args.metafiles:
        readme = readme_of(metafile)
        text = open(readme).read()
        if BEGIN not in text or END not in text:
            sys.exit(f'model_zoo_tables: {readme} has no {BEGIN} ... {END} block; add one where the table goes')
        head, rest = text.split(BEGIN, 1)
        new = f'{head}{BEGIN}\n{table(metafile)}\n{END}{rest.split(END, 1)[1]}'
        if new != text:
            stale.append(osp.relpath(readme, REPO))
            if not args.check:
                with open(readme, 'w') as f:
                    f.write(new)
    if args.check and stale:
        sys.exit(
            f'model_zoo_tables: stale tables in {", ".join(stale)}; run python tools/analysis_tools/model_zoo_tables.py'
        )
    print('model_zoo_tables: ' + (f'updated {", ".join(stale)}' if stale and not args.check else 'up to date'))
    return 0


if __name__ == '__main__':
    main()
