"""Checks that catch bad data before any training work is spent.

OpenMMLab datasets accept several kinds of bad data without a word and train on the wrong labels: a val
folder without one of train's class folders shifts every later label by one; mmdet drops COCO annotations
and VOC objects whose class is not in ``classes``; an mmseg mask value above the class count scores nothing;
and a last training batch of one image kills BatchNorm after a whole epoch. Each check here raises one
:class:`~mcl_mm.utils.errors.DataError` whose one-line message names the file, the numbers and the fix.

The checks read the files exactly where the datasets will (paths joined as mmengine's ``BaseDataset`` does,
the upstream defaults of each dataset class), and skip dataset types they do not know.
"""
import errno
import inspect
import json
import os
import os.path as osp
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from stat import S_ISDIR
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from mcl_mm.utils.errors import DataError

__all__ = [
    'check_config_data', 'check_runner_data', 'check_last_batch', 'check_class_folders', 'check_no_symlink_loop',
    'check_coco_annotations', 'check_voc_annotations', 'check_seg_masks', 'seg_map_paths', 'check_seg_mask_sizes',
    'check_training_classes_have_images', 'warn_duplicate_images'
]

SPLITS = ('train', 'val', 'test')
# Scopes tried for an unscoped dataset type when the config has no default_scope.
_SCOPES = ('mcl_mm', 'mmpretrain', 'mmdet', 'mmseg')
# Upstream base classes, by (top-level package, class name): subclasses are recognised through their MRO, so
# nothing is imported to classify a type.
_FOLDER_CLS = ('mmpretrain', 'CustomDataset')
_COCO = ('mmdet', 'CocoDataset')
_COCO_PANOPTIC = ('mmdet', 'CocoPanopticDataset')  # its annotations hold segments_info, not category_id
_XML = ('mmdet', 'XMLDataset')
_SEG = ('mmseg', 'BaseSegDataset')


def _error(message: str) -> DataError:
    """A DataError whose message is one line (embedded upstream error text may hold newlines)."""
    return DataError(' '.join(message.split()))


def _count(items, noun: str) -> str:
    """``1 class folder`` / ``2 class folders``."""
    return f'{len(items)} {noun}' + ('' if len(items) == 1 else 's')


def _names(items, limit: int = 5) -> str:
    """``a, b, c`` (up to ``limit``, then ``... (N in all)``) for messages."""
    items = [repr(i) if isinstance(i, str) else str(i) for i in items]
    shown = ', '.join(items[:limit])
    return shown if len(items) <= limit else f'{shown}, ... ({len(items)} in all)'


# ----------------------------------------------------------------------------------------------- config walk


def check_config_data(cfg, splits: Sequence[str] = SPLITS) -> None:
    """Check the data of the config's dataloaders on disk, before the runner builds anything.

    Walks the ``dataset`` of ``<split>_dataloader`` for each split (absent / None ones skipped) through
    wrappers (``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``, ...) and checks each dataset it
    knows: mmpretrain folder datasets (same class folders in every split, no symlink loop), mmdet COCO and
    VOC/XML annotations, mmseg masks. Raises :class:`DataError` on the first problem.

    Args:
        cfg: an mmengine ``Config`` (or dict) with the ``*_dataloader`` entries.
        splits: the dataloaders to check; ``tools/test.py`` passes ``('test', )`` so that training data
            need not be present for a test run.
    """
    default_scope = cfg.get('default_scope')
    folders: List[Tuple[str, str, bool]] = []  # (split, image folder, labelled) of folder-layout sets
    done = set()
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or not loader.get('dataset'):
            continue
        for dataset in _leaf_datasets(loader['dataset']):
            cls = _resolve_type(dataset.get('type'), default_scope)
            if cls is None or _remote(dataset):
                continue
            if _is_subclass(cls, _FOLDER_CLS) and _upstream(cls, 'load_data_list', _FOLDER_CLS):
                found = _class_folder_root(cls, dataset)
                if found is not None:
                    folders.append((split, *found))
            elif _is_subclass(cls, _COCO) and not _is_subclass(cls, _COCO_PANOPTIC):
                _check_coco_dataset(cls, dataset, split == 'train', done)
            elif _is_subclass(cls, _XML) and _upstream(cls, 'load_data_list', _XML) \
                    and _upstream(cls, 'parse_data_info', _XML):
                _check_xml_dataset(cls, dataset, done)
            elif _is_subclass(cls, _SEG) and _upstream(cls, 'load_data_list', _SEG):
                _check_seg_dataset(cls, dataset, done)
    _check_folder_splits(folders)


def _leaf_datasets(dataset) -> Iterator[dict]:
    """The dataset dicts inside wrappers: ``datasets=[...]`` (concat) and ``dataset=...`` (repeat, balance)."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('datasets'), (list, tuple)):
        for inner in dataset['datasets']:
            yield from _leaf_datasets(inner)
    elif isinstance(dataset.get('dataset'), dict):
        yield from _leaf_datasets(dataset['dataset'])
    else:
        yield dataset


def _resolve_type(dataset_type, default_scope: Optional[str]) -> Optional[type]:
    """The dataset class of a config ``type`` (a class, ``'mmdet.CocoDataset'`` or a bare name), found as the
    runner finds it: in the scope's registry and its parents."""
    if isinstance(dataset_type, type):
        return dataset_type
    if not isinstance(dataset_type, str):
        return None
    if '.' in dataset_type:
        scope, name = dataset_type.split('.', 1)
        candidates = [(scope, name)]
    elif default_scope:
        candidates = [(default_scope, dataset_type)]
    else:
        candidates = [(scope, dataset_type) for scope in _SCOPES]
    for scope, name in candidates:
        cls = _registry_get(scope, name)
        if cls is not None:
            return cls
    if '.' in dataset_type:  # a full import path ('mmdet.datasets.CocoDataset')
        try:
            from mmengine.utils import get_object_from_string
            found = get_object_from_string(dataset_type)
            return found if isinstance(found, type) else None
        except Exception:
            return None
    return None


def _registry_get(scope: str, name: str) -> Optional[type]:
    """``name`` from the DATASETS registry of ``scope`` (or its parents); None when either is unknown."""
    from importlib import import_module

    from mmengine.registry import DATASETS
    try:
        import_module(f'{scope}.registry')
        registry = DATASETS._search_child(scope)
        found = registry.get(name) if registry is not None else None
    except Exception:  # a scope whose package is not installed, or a name it does not hold
        return None
    return found if isinstance(found, type) else None


def _is_subclass(cls: type, base: Tuple[str, str]) -> bool:
    package, name = base
    return any(k.__name__ == name and k.__module__.split('.')[0] == package for k in cls.__mro__)


def _upstream(cls: type, method: str, base: Tuple[str, str]) -> bool:
    """Whether ``cls`` inherits ``method`` from the upstream ``base`` (a subclass that overrides how it finds
    its files is not checked: the paths here would not be its paths)."""
    owner = next((k for k in cls.__mro__ if method in vars(k)), None)
    return owner is not None and _is_subclass(owner, base) and owner.__name__ == base[1]


def _default(cls: type, name: str, fallback: Any = None) -> Any:
    """The default of ``__init__`` argument ``name`` along the MRO (subclasses pass most through **kwargs)."""
    for klass in cls.__mro__:
        if '__init__' not in vars(klass):
            continue
        try:
            param = inspect.signature(klass.__init__).parameters.get(name)
        except (TypeError, ValueError):
            continue
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return fallback


def _remote(dataset: dict) -> bool:
    """Data behind a storage backend (petrel, http): not checked here."""
    if dataset.get('backend_args') or dataset.get('file_client_args'):
        return True
    paths = [dataset.get('data_root'), dataset.get('ann_file')]
    prefix = dataset.get('data_prefix')
    paths += list(prefix.values()) if isinstance(prefix, dict) else [prefix]
    return any(isinstance(p, str) and '://' in p for p in paths)


def _join_root(dataset: dict, path: str, prefix: bool = False) -> str:
    """``path`` joined to ``data_root`` as mmengine's ``BaseDataset._join_prefix`` does: relative paths only,
    an empty ``ann_file`` stays empty, an empty prefix becomes ``data_root`` itself."""
    data_root = dataset.get('data_root')
    if (path or prefix) and not osp.isabs(path) and data_root:
        return osp.join(data_root, path)
    return path


def _classes(cls: type, dataset: dict) -> Optional[Sequence[str]]:
    """The dataset's class names: ``metainfo.classes`` of the config, else the class's ``METAINFO``."""
    metainfo = dataset.get('metainfo') or {}
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if isinstance(classes, str):  # mmengine reads a str value as a file of names, one a line
        if osp.isfile(classes):
            with open(classes) as f:
                return [line.rstrip('\n\r') for line in f]
        return None
    if classes is None:
        classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    return list(classes) if classes is not None else None


def _list_from_file(path: str, what: str) -> List[str]:
    """mmengine's ``list_from_file``: one item a line, line ends stripped, blank lines kept."""
    if not osp.isfile(path):
        raise _error(f'{what} {path} does not exist. Fix: data_root / ann_file in the config, or create the file')
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n\r') for line in f]


# ------------------------------------------------------------------------------------ classification folders


def _class_folder_root(cls: type, dataset: dict) -> Optional[Tuple[str, bool]]:
    """(image folder, labels come from its sub-folders) of a folder-layout mmpretrain dataset, as
    ``CustomDataset`` finds it; None when an ``ann_file`` lists the samples."""
    data_root = osp.expanduser(dataset.get('data_root') or '')
    ann_file = dataset.get('ann_file', '') or ''
    data_prefix = dataset.get('data_prefix', '') or ''
    with_label = dataset.get('with_label', _default(cls, 'with_label', True))
    split = dataset.get('split', '')
    if split and _is_subclass(cls, ('mmpretrain', 'ImageNet')):
        # mmpretrain's ImageNet(split=...): data_prefix defaults to the split, ann_file to meta/<split>.txt
        # when that file exists; the test split has no labels.
        data_prefix = data_prefix or split
        if not ann_file and osp.exists(osp.join(data_root, 'meta', f'{split}.txt')):
            ann_file = osp.join('meta', f'{split}.txt')
        with_label = with_label and split != 'test'
    if ann_file:
        return None
    img_prefix = data_prefix.get('img_path', '') if isinstance(data_prefix, dict) else data_prefix
    return _join_root(dict(data_root=data_root), osp.expanduser(img_prefix or ''), prefix=True), bool(with_label)


def _check_folder_splits(folders: List[Tuple[str, str, bool]]) -> None:
    """No symlink loop in any image folder; a labelled training folder has class folders and an image in each;
    every labelled split has the class folders of the first labelled train split (else of the first labelled
    split); images of an evaluation split that are also training images are said."""
    for root in dict.fromkeys(root for _, root, _ in folders):
        check_no_symlink_loop(root)
    labelled = list(dict.fromkeys((split, root) for split, root, with_label in folders if with_label))
    for split, root in labelled:
        if split == 'train':
            check_training_classes_have_images(root)
    train = next((root for split, root in labelled if split == 'train'), None)
    for split, root in labelled:
        if train is not None and split != 'train' and osp.normpath(root) != osp.normpath(train):
            warn_duplicate_images(train, root, split)
    if len(labelled) < 2:
        return
    reference = next((f for f in labelled if f[0] == 'train'), labelled[0])
    for split, root in labelled:
        if osp.normpath(root) != osp.normpath(reference[1]):
            check_class_folders(reference[1], root, names=(reference[0], split))


# mmpretrain's CustomDataset default extensions
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.webp')


def _images(folder: str) -> Iterator[str]:
    for base, _, files in os.walk(folder, followlinks=True):
        for name in files:
            if name.lower().endswith(IMG_EXTENSIONS):
                yield osp.join(base, name)


def check_training_classes_have_images(root: str) -> None:
    """A training image folder has class folders, and every class folder an image: an empty class keeps its
    label but can never be learned (its top-1 is 0 whatever the method); an empty folder trains nothing."""
    classes = _class_folders(root)
    if not classes:
        raise _error(f'training folder {root} has no class folders (no images to train on). Fix: data_root / '
                     'data_prefix in the config, or put the images in <class>/ folders')
    empty = [name for name in classes if next(_images(osp.join(root, name)), None) is None]
    if empty:
        raise _error(f'training folder {root}: {_count(empty, "class folder")} of {len(classes)} hold no image '
                     f'({_names(empty)}); such a class can never be learned. Fix: add its images, or remove the '
                     'folder from every split')


# Content comparison reads every evaluation image and the training images of the same byte size; past this many
# files the check is left out (a pass over ImageNet's 1.3 M files at every start costs more than it is worth).
MAX_DUPLICATE_CHECK_FILES = 200_000


def warn_duplicate_images(train_root: str, other_root: str, split: str) -> Optional[int]:
    """Warn when images of an evaluation split are byte-for-byte training images (validation then measures
    memorisation). Returns how many were found (None: too many files to compare)."""
    import hashlib
    train, other = list(_images(train_root)), list(_images(other_root))
    if len(train) + len(other) > MAX_DUPLICATE_CHECK_FILES:
        return None
    sizes = {}
    for path in other:
        sizes.setdefault(os.path.getsize(path), []).append(path)

    def digest(path):
        with open(path, 'rb') as f:
            return hashlib.sha1(f.read()).hexdigest()

    wanted = {digest(path): path for same in sizes.values() for path in same}
    found = []
    for path in train:
        if os.path.getsize(path) in sizes:  # only training files of an evaluation file's size are read
            match = wanted.get(digest(path))
            if match:
                found.append((path, match))
    if found:
        warnings.warn(f'{len(found)} image(s) of the {split} folder {other_root} are also training images (e.g. '
                      f'{found[0][1]} = {found[0][0]}): {split} accuracy then measures memorisation. Remove them '
                      'from one of the splits')
    return len(found)


def _class_folders(root: str) -> List[str]:
    """The class folders mmpretrain finds (``find_folders``: every sub-directory, hidden ones included)."""
    if not osp.isdir(root):
        raise _error(f'image folder {root} does not exist. Fix: data_root / data_prefix in the config')
    from mmpretrain.datasets.custom import find_folders
    return find_folders(root)[0]


def check_class_folders(train_root: str, other_root: str, names: Tuple[str, str] = ('train', 'val')) -> None:
    """The class folders of two folder-layout splits must be the same set.

    mmpretrain numbers the classes by sorted folder name in each split separately, so a val folder that
    lacks one of train's classes (or has an extra one, e.g. ``.ipynb_checkpoints``) shifts every later label
    by one without a word and validation measures the wrong thing.
    """
    train, other = _class_folders(train_root), _class_folders(other_root)
    if train == other:
        return
    missing, extra = sorted(set(train) - set(other)), sorted(set(other) - set(train))
    parts = []
    if missing:
        parts.append(f'lacks {_count(missing, "class folder")} of {names[0]}\'s ({_names(missing)})')
    if extra:
        parts.append(f'has {_count(extra, "class folder")} that {names[0]} lacks ({_names(extra)})')
    raise _error(f'{names[1]} folder {other_root} {" and ".join(parts)} compared with {names[0]} folder '
                 f'{train_root} ({len(other)} vs {len(train)} classes); labels are numbered by sorted folder '
                 f'name per split, so every later label would be shifted silently. Fix: give both splits the '
                 f'same class folders (an empty folder keeps the numbering), and remove stray folders')


def check_no_symlink_loop(root: str) -> None:
    """No directory symlink under ``root`` may lead back to one of its own ancestors.

    mmengine lists image folders recursively following symlinks: a loop lists the same images ~40 times
    (until the OS refuses to resolve deeper) or never ends. Walks directories only (one ``stat`` per
    symlink, none per file), depth first, tracking the ``(st_dev, st_ino)`` of the directories on the path.
    """
    if not osp.isdir(root):
        return
    stat = os.stat(root)
    on_path = {(stat.st_dev, stat.st_ino)}
    finished = set()
    stack = [(root, (stat.st_dev, stat.st_ino), _child_dirs(root))]
    while stack:
        _, key, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(key)
            finished.add(key)
            continue
        path, child_key = child
        if child_key in on_path:
            target = os.readlink(path) if osp.islink(path) else osp.realpath(path)
            raise _error(f'symlink loop under {root}: {path} -> {target} points back to a folder above it, so '
                         f'the recursive image listing repeats the same files until the OS refuses ("Too many '
                         f'levels of symbolic links"). Fix: remove or retarget the link')
        if child_key not in finished:
            on_path.add(child_key)
            stack.append((path, child_key, _child_dirs(path)))


def _child_dirs(path: str) -> Iterator[Tuple[str, Tuple[int, int]]]:
    """(path, (st_dev, st_ino)) of each sub-directory of ``path``, symlinks followed."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            try:
                stat = os.stat(entry.path)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise _error(f'symlink loop: {entry.path} -> {os.readlink(entry.path)} resolves to itself. '
                                 f'Fix: remove or retarget the link') from None
                continue  # a dangling link: not a directory
            if S_ISDIR(stat.st_mode):
                yield entry.path, (stat.st_dev, stat.st_ino)
        elif entry.is_dir(follow_symlinks=False):
            stat = entry.stat(follow_symlinks=False)
            yield entry.path, (stat.st_dev, stat.st_ino)


# ---------------------------------------------------------------------------------------------------- COCO


def _check_coco_dataset(cls: type, dataset: dict, train: bool, done: set) -> None:
    """The annotation file of an mmdet ``CocoDataset`` (or subclass), against its classes."""
    ann_file = _join_root(dataset, dataset.get('ann_file', _default(cls, 'ann_file', '')) or '')
    classes = _classes(cls, dataset)
    key = ('coco', ann_file, tuple(classes or ()), train)
    if key not in done:
        done.add(key)
        check_coco_annotations(ann_file, classes, require_annotations=train)


def check_coco_annotations(ann_file: str, classes: Optional[Sequence[str]], require_annotations: bool = True) -> None:
    """A COCO annotation file must parse, hold ``images`` / ``annotations`` / ``categories``, and label every
    annotation with a category of the dataset's ``classes`` on an image it declares.

    mmdet's ``CocoDataset`` keeps only annotations whose category name is in ``classes`` (the others vanish
    without a word), numbers labels in the json's category order, and never sees annotations of undeclared
    images. ``require_annotations``: the training split must have annotations (an empty list trains
    nothing); evaluation splits may omit the key (COCO test-dev image-info files do).
    """
    if not osp.isfile(ann_file):
        raise _error(f'COCO annotation file {ann_file} does not exist. Fix: data_root / ann_file in the config')
    try:
        with open(ann_file, 'rb') as f:
            coco = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise _error(
            f'COCO annotation file {ann_file} is not valid JSON ({err}). Fix: regenerate or repair it') from None
    if not isinstance(coco, dict):
        raise _error(f'COCO annotation file {ann_file} holds a JSON {type(coco).__name__}, not an object with '
                     f'images / annotations / categories. Fix: point ann_file at a COCO instances file')
    needed = ('images', 'annotations', 'categories') if require_annotations else ('images', 'categories')
    missing = [k for k in needed if not isinstance(coco.get(k), list)]
    if missing:
        raise _error(f'COCO annotation file {ann_file} has no {" / ".join(missing)} list. Fix: point ann_file at a '
                     f'COCO instances file (with images, annotations and categories)')
    annotations = coco.get('annotations')
    if annotations is None:
        return
    if require_annotations and not annotations:
        raise _error(f'COCO annotation file {ann_file} of the training split has an empty annotations list: '
                     f'training would learn nothing. Fix: regenerate it or point ann_file at the right file')
    for key in ('images', 'annotations', 'categories'):
        odd = next((i for i, entry in enumerate(coco.get(key) or ()) if not isinstance(entry, dict)), None)
        if odd is not None:
            raise _error(f'COCO annotation file {ann_file}: {key}[{odd}] is a {type(coco[key][odd]).__name__}, '
                         f'not an object. Fix: regenerate or repair the file')
    categories = {c.get('id'): c.get('name') for c in coco['categories']}
    if classes is not None:
        wanted = set(classes)
        # mmdet: cat_ids = coco.get_cat_ids(cat_names=classes) (json order), label = index in cat_ids
        kept = [name for name in categories.values() if name in wanted]
        if kept != list(classes):
            absent = [c for c in classes if c not in kept]
            repeated = sorted(name for name, n in Counter(kept).items() if n > 1)
            if absent:
                detail = f'has no category named {_names(absent)}'
            elif repeated:
                detail = f'has several categories named {_names(repeated)}'
            else:
                detail = f'lists the classes as {_names(kept, 100)}'
            raise _error(f'COCO annotation file {ann_file} {detail}, but the dataset classes are '
                         f'{_names(list(classes), 100)}; mmdet numbers labels in the json category order, so '
                         f'labels and class names would disagree silently. Fix: list metainfo classes exactly '
                         f'as (and in the order of) the json categories you train on')
        known = {cid for cid, name in categories.items() if name in wanted}
    else:
        known = set(categories)
    unknown = Counter(a.get('category_id') for a in annotations if a.get('category_id') not in categories)
    if unknown:
        shown = ', '.join(f'id {cid} x{n}' for cid, n in unknown.most_common(5))
        more = f', ... ({len(unknown)} ids in all)' if len(unknown) > 5 else ''
        raise _error(f'COCO annotation file {ann_file}: {sum(unknown.values())} of {len(annotations)} annotations '
                     f'have a category_id that its categories list does not declare ({shown}{more}); mmdet drops '
                     f'them silently. Fix: declare those categories (and add them to metainfo classes), or relabel / '
                     f'remove those annotations')
    # Declared categories left out of `classes` are mmdet's way to train on a subset: said, not refused.
    outside = Counter(a.get('category_id') for a in annotations if a.get('category_id') not in known)
    if outside:
        shown = ', '.join(f'{categories[cid]!r} x{n}' for cid, n in outside.most_common(5))
        warnings.warn(f'COCO annotation file {ann_file}: {sum(outside.values())} of {len(annotations)} annotations '
                      f'belong to categories outside the dataset classes ({shown}) and are not used; list them in '
                      'metainfo classes if they should be')
    image_ids = {img.get('id') for img in coco['images']}
    orphans = Counter(a.get('image_id') for a in annotations if a.get('image_id') not in image_ids)
    if orphans:
        raise _error(f'COCO annotation file {ann_file}: {sum(orphans.values())} annotations refer to '
                     f'{len(orphans)} image ids missing from images ({_names(list(orphans))}); mmdet never loads '
                     f'them. Fix: add those images to the images list or remove the annotations')
    used = [a for a in annotations if a.get('category_id') in known]
    sizes = {img.get('id'): (img.get('width'), img.get('height')) for img in coco['images']}
    dropped = [a for a in used if _coco_box_dropped(a, sizes.get(a.get('image_id')))]
    if used and len(dropped) == len(used) and require_annotations:
        raise _error(f'COCO annotation file {ann_file}: all {len(used)} annotations of the dataset classes have a '
                     f'box mmdet drops (bbox [x, y, w, h] with w or h < 1, area <= 0, or ignore set; e.g. '
                     f'{dropped[0].get("bbox")}): nothing would be trained. Fix: write boxes as [x, y, width, '
                     'height] in pixels (not [x1, y1, x2, y2], not normalised)')
    if dropped:
        warnings.warn(f'COCO annotation file {ann_file}: {len(dropped)} of {len(used)} annotations have a box mmdet '
                      f'drops (w or h < 1, area <= 0, or ignore set; e.g. {dropped[0].get("bbox")})')


def _coco_box_dropped(annotation: dict, image_size) -> bool:
    """mmdet 3.3 ``CocoDataset.parse_data_info``: a box with w or h < 1, area <= 0, ``ignore`` set, or no overlap
    with its image is not trained."""
    box = annotation.get('bbox')
    if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
        return True
    x, y, w, h = box
    if annotation.get('ignore', False) or w < 1 or h < 1 or not annotation.get('area', 1) > 0:
        return True
    width, height = image_size or (None, None)
    if isinstance(width, (int, float)) and isinstance(height, (int, float)):
        return max(0, min(x + w, width) - max(x, 0)) * max(0, min(y + h, height) - max(y, 0)) == 0
    return False


# ----------------------------------------------------------------------------------------------- VOC / XML


def _check_xml_dataset(cls: type, dataset: dict, done: set) -> None:
    """Paths of mmdet 3.3's ``XMLDataset.load_data_list``: ids from ``ann_file``, XML at
    ``<data_root>/<sub_data_root>/<ann_subdir>/<id>.xml``."""
    ann_file = _join_root(dataset, dataset.get('ann_file', _default(cls, 'ann_file', '')))
    data_prefix = dataset.get('data_prefix', _default(cls, 'data_prefix', {})) or {}
    sub_data_root = data_prefix.get('sub_data_root')
    sub_data_root = '' if sub_data_root is None else _join_root(dataset, sub_data_root, prefix=True)
    ann_subdir = dataset.get('ann_subdir', _default(cls, 'ann_subdir', 'Annotations'))
    classes = _classes(cls, dataset)
    key = ('xml', ann_file, sub_data_root, ann_subdir, tuple(classes or ()))
    if classes is None or key in done:
        return  # mmdet refuses an XMLDataset without classes itself
    done.add(key)
    check_voc_annotations(ann_file, sub_data_root, classes, ann_subdir)


def check_voc_annotations(ann_file: str,
                          sub_data_root: str,
                          classes: Sequence[str],
                          ann_subdir: str = 'Annotations') -> None:
    """Every XML file the image-id list names must parse, and every ``<object><name>`` must be a class.

    mmdet's ``XMLDataset`` skips objects whose name is not in ``classes`` without a word (a typo or a
    trailing space drops the object: it becomes background). ``sub_data_root`` is already joined to
    ``data_root``.
    """
    wanted = set(classes)
    unknown: Counter = Counter()
    first = None
    files_with_unknown = objects = difficult_objects = 0
    ids = _list_from_file(ann_file, 'VOC image-id list (ann_file)')
    for img_id in ids:
        path = osp.join(sub_data_root, ann_subdir, f'{img_id}.xml')
        if not osp.isfile(path):
            raise _error(f'{path} (image id {img_id!r}, listed in {ann_file}) does not exist. Fix: add the annotation '
                         f'or remove the id from the list')
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as err:
            raise _error(f'{path} is not well-formed XML ({err}). Fix: repair or regenerate it') from None
        bad = []
        for obj in root.findall('object'):
            name = obj.find('name')
            if name is None:
                raise _error(f'{path}: an <object> has no <name>. Fix: add the class name or remove the object')
            if name.text not in wanted:
                bad.append(name.text)
            objects += 1
            difficult = obj.find('difficult')
            difficult_objects += bool(difficult is not None and (difficult.text or '').strip() == '1')
        if bad:
            files_with_unknown += 1
            unknown.update(bad)
            first = first or (path, bad[0])
    if first:
        raise _error(f'{first[0]}: object name {first[1]!r} is not one of the dataset classes '
                     f'({sum(unknown.values())} such objects in {files_with_unknown} of {len(ids)} files, names '
                     f'{_names(list(unknown))}); mmdet drops such objects silently. Fix: correct the names in '
                     f'the XML, or add them to metainfo classes (and the model\'s num_classes)')
    if objects and difficult_objects == objects:
        raise _error(f'{ann_file}: every one of the {objects} objects in its {len(ids)} annotation files is marked '
                     '<difficult>1</difficult>; mmdet ignores difficult objects in training and in the VOC metric, '
                     'so nothing would be trained and mAP would be 0. Fix: mark only the truly difficult objects')


# ---------------------------------------------------------------------------------------------------- mmseg


def _check_seg_dataset(cls: type, dataset: dict, done: set) -> None:
    """Masks of an mmseg ``BaseSegDataset`` (paths, suffixes, label rules of the dataset class)."""
    classes = _classes(cls, dataset)
    data_prefix = dataset.get('data_prefix', _default(cls, 'data_prefix', {})) or {}
    ann_dir = data_prefix.get('seg_map_path')
    if classes is None or ann_dir is None:
        return  # no class count to check against, or no masks
    img_dir = _join_root(dataset, data_prefix.get('img_path') or '', prefix=True)
    ann_dir = _join_root(dataset, ann_dir, prefix=True)
    ann_file = _join_root(dataset, dataset.get('ann_file', _default(cls, 'ann_file', '')) or '')
    img_suffix = dataset.get('img_suffix', _default(cls, 'img_suffix', '.jpg'))
    seg_map_suffix = dataset.get('seg_map_suffix', _default(cls, 'seg_map_suffix', '.png'))
    ignore_index = dataset.get('ignore_index', _default(cls, 'ignore_index', 255))
    reduce_zero_label = dataset.get('reduce_zero_label', _default(cls, 'reduce_zero_label', False))
    label_map = None
    if hasattr(cls, 'get_label_map'):
        try:
            label_map = cls.get_label_map(classes)
        except Exception:
            return  # classes that are not a subset of the dataset's: mmseg itself refuses them
    key = ('seg', img_dir, ann_dir, ann_file, img_suffix, seg_map_suffix, len(classes), ignore_index, reduce_zero_label,
           str(label_map))
    if key in done:
        return
    done.add(key)
    paths = seg_map_paths(img_dir, ann_dir, ann_file, img_suffix, seg_map_suffix)
    check_seg_masks(paths, len(classes), ignore_index, reduce_zero_label, label_map)
    check_seg_mask_sizes([(_image_of_mask(path, img_dir, ann_dir, img_suffix, seg_map_suffix), path) for path in paths])


def _image_of_mask(mask: str, img_dir: str, ann_dir: str, img_suffix: str, seg_map_suffix: str) -> str:
    return osp.join(img_dir, osp.relpath(mask, ann_dir)[:-len(seg_map_suffix)] + img_suffix)


def check_seg_mask_sizes(pairs: Sequence[Tuple[str, str]]) -> None:
    """Every mask has the size of its image (read from the file headers, nothing decoded): mmseg's augmentations
    crop and flip both as if they were aligned, and the metric compares them pixel by pixel after the whole
    schedule."""
    from PIL import Image
    for image, mask in pairs:
        if not osp.isfile(image):
            continue  # mmseg lists images it finds: a missing one belongs to an ann_file the dataset reports
        try:
            with Image.open(image) as img, Image.open(mask) as seg:
                image_size, mask_size = img.size, seg.size
        except Exception as err:  # PIL raises several types for undecodable files
            raise _error(f'{image} or its mask {mask} cannot be read ({err}). Fix: regenerate or repair it') from None
        if image_size != mask_size:
            raise _error(f'segmentation mask {mask} is {mask_size[0]}x{mask_size[1]}, its image {image} '
                         f'{image_size[0]}x{image_size[1]}: crops and the metric would compare misaligned pixels. '
                         'Fix: save each mask at its image\'s size')


def seg_map_paths(img_dir: str,
                  ann_dir: str,
                  ann_file: str = '',
                  img_suffix: str = '.jpg',
                  seg_map_suffix: str = '.png') -> List[str]:
    """The mask files mmseg 1.x's ``BaseSegDataset.load_data_list`` reads: one per name of ``ann_file``
    (a split list), else one per image found recursively under ``img_dir``."""
    if ann_file and not osp.isdir(ann_file):
        names = [line.strip() for line in _list_from_file(ann_file, 'segmentation split list (ann_file)')]
        return [osp.join(ann_dir, name + seg_map_suffix) for name in names]
    if not osp.isdir(img_dir):
        raise _error(f'image folder {img_dir} does not exist. Fix: data_root / data_prefix.img_path in the config')
    check_no_symlink_loop(img_dir)
    from mmengine.fileio import list_dir_or_file
    images = list_dir_or_file(img_dir, list_dir=False, suffix=img_suffix, recursive=True)
    return sorted(osp.join(ann_dir, img[:-len(img_suffix)] + seg_map_suffix) for img in images)


def check_seg_masks(paths: Sequence[str],
                    num_classes: int,
                    ignore_index: int = 255,
                    reduce_zero_label: bool = False,
                    label_map: Optional[Dict[int, int]] = None) -> None:
    """Every mask value, after mmseg's ``LoadAnnotations`` rules, must be a class (< ``num_classes``) or
    ``ignore_index``.

    mmseg reads masks as single-channel indices (a palette PNG gives its palette indices) cast to uint8,
    then with ``reduce_zero_label`` maps 0 to 255 and lowers the rest by one, then applies ``label_map``.
    A value above the class count falls outside every class and scores nothing, without a word.
    """
    from PIL import Image
    for path in paths:
        if not osp.isfile(path):
            raise _error(f'segmentation mask {path} does not exist (the dataset lists it). Fix: add the mask, or '
                         f'correct data_prefix.seg_map_path / seg_map_suffix / the split list')
        try:
            with Image.open(path) as img:
                raw = np.array(img)
        except Exception as err:  # PIL raises several types for undecodable files
            raise _error(f'segmentation mask {path} cannot be read ({err}). Fix: regenerate or repair it') from None
        raw = raw.squeeze()
        if raw.ndim != 2:
            raise _error(f'segmentation mask {path} has {raw.shape[-1]} channels; mmseg needs one channel of class '
                         f'indices (a grey or palette PNG), colours would be read as labels. Fix: convert it '
                         f'to an index mask')
        if raw.dtype != np.uint8 and raw.size and (raw.min() < 0 or raw.max() > 255):
            raise _error(f'segmentation mask {path} holds values up to {raw.max()} ({raw.dtype}); mmseg casts '
                         f'masks to uint8, which wraps them into wrong classes silently. Fix: save 8-bit masks')
        values = np.flatnonzero(np.bincount(raw.astype(np.uint8).ravel(), minlength=256))
        labels = values.copy()
        if reduce_zero_label:
            labels = np.where(labels == 0, 255, labels - 1)
            labels[labels == 254] = 255
        if label_map:
            labels = np.array([label_map.get(int(v), int(v)) for v in labels], dtype=np.int64)
        bad = sorted({int(v) for v in labels if v >= num_classes and v != ignore_index})
        if bad:
            raw_bad = sorted(int(r) for r, v in zip(values, labels) if int(v) in bad)
            rule = ' (stored values ' + _names(raw_bad, 10) + ')' if raw_bad != bad else ''
            raise _error(f'segmentation mask {path} holds label values {_names(bad, 10)}{rule}, neither a class '
                         f'(0..{num_classes - 1}: {num_classes} classes) nor ignore_index {ignore_index}'
                         f'{" after reduce_zero_label" if reduce_zero_label else ""}; mmseg scores such pixels as '
                         f'nothing, silently. Fix: relabel the masks, or correct metainfo classes / '
                         f'reduce_zero_label / ignore_index in the config')


# ------------------------------------------------------------------------------------------ last-batch check


def check_last_batch(dataset_len: int,
                     batch_size: int,
                     world_size: int,
                     drop_last: bool,
                     has_batch_norm: bool,
                     *,
                     samples_per_rank: Optional[int] = None) -> None:
    """A training epoch must not end in a batch of one image while BatchNorm trains.

    BatchNorm in train mode needs more than one value per channel; a last batch of one image (41 images,
    batch 8) crashes with "Expected more than 1 value per channel" only after a whole epoch.

    Args:
        dataset_len: images in the training set.
        batch_size: images per batch and rank.
        world_size: ranks.
        drop_last: the dataloader drops the incomplete last batch.
        has_batch_norm: the model has BatchNorm layers in train mode.
        samples_per_rank: images per rank and epoch when the sampler says so; else mmengine's
            ``DefaultSampler`` rule (``ceil(dataset_len / world_size)``, padded).
    """
    if drop_last or not has_batch_norm or batch_size < 2:
        return
    per_rank = samples_per_rank if samples_per_rank is not None else -(-dataset_len // max(world_size, 1))
    if per_rank % batch_size != 1:
        return
    head = (f'the training epoch ends in a batch of 1 image: {dataset_len} images on {world_size} rank(s) = '
            f'{per_rank} per rank, batch_size {batch_size} -> {per_rank // batch_size} full batches + 1 image; '
            f'BatchNorm in train mode fails on it after the whole first epoch ("Expected more than 1 value per '
            f'channel").')
    if per_rank == 1:  # dropping it would leave no batch at all
        raise _error(f'{head} Fix: train on more images (or fewer ranks)')
    fits = [b for d in range(1, batch_size) for b in (batch_size - d, batch_size + d) if b > 1 and per_rank % b != 1]
    other = f', or another batch_size (e.g. {fits[0]})' if fits else ''
    raise _error(f'{head} Fix: set train_dataloader.drop_last=True{other}')


def check_runner_data(runner) -> None:
    """:func:`check_last_batch` on the runner's built training dataloader (built here if not yet).

    Skipped without a training loop, for samplers that compose whole batches themselves (mcl_mm's
    ``MPerClassSampler``, batch samplers such as mmdet's ``AspectRatioBatchSampler``), for infinite samplers
    (iteration-based loops have no last batch), and for samplers of unknown length per rank.
    """
    if getattr(runner, '_train_loop', None) is None:
        return
    loader = runner.train_dataloader
    from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, RandomSampler, SequentialSampler
    if not isinstance(loader, DataLoader) or type(loader.batch_sampler) is not BatchSampler:
        return
    from mmengine.dataset import DefaultSampler
    sampler = loader.batch_sampler.sampler
    batch_size = loader.batch_sampler.batch_size
    if isinstance(sampler, DefaultSampler):
        world_size = sampler.world_size
        if sampler.round_up:  # every rank gets ceil(N / world_size) (padded)
            per_rank = len(sampler)
        else:  # rank r gets ceil((N - r) / world_size): every rank judges by the same (worst) rank
            counts = [-(-(len(sampler.dataset) - r) // world_size) for r in range(world_size)]
            per_rank = next((c for c in counts if c % batch_size == 1), counts[0])
    elif isinstance(sampler, DistributedSampler):
        world_size, per_rank = sampler.num_replicas, len(sampler)
    elif type(sampler) in (RandomSampler, SequentialSampler):
        world_size, per_rank = 1, len(sampler)
    else:
        return  # MPerClassSampler (whole batches only), InfiniteSampler, unknown samplers
    model = getattr(runner, 'model', None)
    check_last_batch(
        len(loader.dataset),
        batch_size,
        world_size,
        loader.batch_sampler.drop_last,
        model is not None and _batch_norm_trains(model),
        samples_per_rank=per_rank)


def _batch_norm_trains(model) -> bool:
    """Whether ``model.train()`` leaves a BatchNorm layer in train mode (``norm_eval`` backbones do not);
    every module's mode is restored afterwards."""
    from torch.nn.modules.batchnorm import _BatchNorm
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.train()
        return any(isinstance(m, _BatchNorm) and m.training for m in model.modules())
    finally:
        for module, mode in modes:
            module.training = mode
