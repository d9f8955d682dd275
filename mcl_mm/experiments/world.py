"""The demo's generated worlds, written in the real file formats the pipeline reads (``tools/demo.py``,
``tools/study.py`` and the tests generate their data with it).

Objects are handwritten digits (scikit-learn's 8x8 images, shipped inside its package) by default, or anything
with a ``draw(rng, img, cls, centre, radius) -> polygons`` method (the tests' shapes). Every object is drawn
from its polygons, so a COCO polygon, a box and a mask of the same object always agree.

* :func:`make_digit_classification_folder` — ImageNet-style ``<root>/{train,val}/<class>/*.png`` of digits or
  two-digit numbers, validation from held-out writers.
* :func:`make_coco_instances` — ``<root>/images/*.jpg`` + ``annotations/instances_<split>.json``
  (boxes + polygon masks).
* :func:`make_voc_detection` — Pascal VOC XML + ImageSets/Main.
* :func:`make_semantic_set` — VOC 2012 (+aug), Pascal Context, Cityscapes and ADE20K segmentation layouts.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw


def render_background(rng: np.random.Generator,
                      size: Tuple[int, int],
                      noise: float = 30,
                      base_range: Tuple[float, float] = (40, 215)) -> Image.Image:
    """A background of the generated world: a random colour gradient plus pixel noise (``noise``: its scale)."""
    h, w = size
    base = rng.uniform(*base_range, size=3)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    gradient = (rng.uniform(-60, 60, 3) * xx[..., None] + rng.uniform(-60, 60, 3) * yy[..., None])
    noise = rng.normal(0, rng.uniform(noise / 4, noise), size=(h, w, 3))
    img = np.clip(base + gradient + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(img)


def add_clutter(rng, img, count):
    """Distractor strokes that are not any class."""
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(count):
        pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(2)]
        draw.line(pts, fill=tuple(int(c) for c in rng.uniform(0, 255, 3)), width=int(rng.integers(1, 3)))


# The two-digit world's rendering (the evidence study and the demo's pretraining): heavier noise, clutter and
# rotation than the defaults, so that members stay well below 100 % on unseen writers.
TWO_DIGIT_WORLD = dict(noise=45.0, clutter=4, max_rotation=30.0)


def make_digit_classification_folder(root: str,
                                     train_per_class: int = 200,
                                     val_per_class: int = 50,
                                     image_size: int = 32,
                                     seed: int = 0,
                                     clutter: int = 2,
                                     noise: float = 25.0,
                                     digits_per_image: int = 1,
                                     max_rotation: float = 20.0) -> List[str]:
    """``root/{train,val}/<number>/<i>.png``: a handwritten number on a noisy background.

    ``digits_per_image=1``: the 10 digits. ``digits_per_image=2``: the 100 two-digit numbers ``00``..``99``,
    the digits side by side, each from an independently drawn writer: a harder world whose classes share
    parts (``37`` and ``38`` share a digit), so a network's wrong answers carry information.
    Train and val draw from disjoint handwriting pools (see :class:`DigitObjects`), so validation measures
    generalisation to unseen writers; colour, size, position, rotation (up to ``max_rotation`` degrees either
    way), noise and clutter (up to ``clutter`` distractor strokes) vary. Returns the class names (sorted folder
    order = label order).
    """
    if digits_per_image not in (1, 2):
        raise ValueError(f'digits_per_image must be 1 or 2, got {digits_per_image}')
    classes = [f'{n:0{digits_per_image}d}' for n in range(10**digits_per_image)]
    rng = np.random.default_rng(seed)
    cell = image_size / digits_per_image
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        drawer = DigitObjects(pool=split, max_rotation=max_rotation)
        for name in classes:
            os.makedirs(osp.join(root, split, name), exist_ok=True)
            for i in range(per_class):
                img = render_background(rng, (image_size, image_size), noise, drawer.background_range)
                if digits_per_image == 1:
                    radius = rng.uniform(0.3, 0.45) * image_size
                    drawer.draw(rng, img, int(name), rng.uniform(radius, image_size - radius, 2), radius)
                else:
                    # One cell per digit; the digits may touch but keep their left-to-right order.
                    radius = rng.uniform(0.3, 0.42) * image_size / 2 * 1.6
                    y = rng.uniform(radius, image_size - radius)
                    for k, digit in enumerate(name):
                        x = (k + 0.5) * cell + rng.uniform(-0.12, 0.12) * cell
                        drawer.draw(rng, img, int(digit), (x, y + rng.uniform(-1.5, 1.5)), radius)
                add_clutter(rng, img, int(rng.integers(0, clutter + 1)))
                img.save(osp.join(root, split, name, f'{i:05d}.png'))
    return classes


class DigitObjects:
    """Handwritten digits (scikit-learn's 8x8 images, shipped inside the package) as objects.

    The 1797 glyphs are split by index into disjoint pools, so ``pool='val'`` objects are handwriting the
    ``pool='train'`` ones never show. An object's polygon is the outer contour of its thresholded strokes.
    """

    classes = tuple(str(d) for d in range(10))
    # Light strokes of any hue on darker backgrounds of any hue: colour varies, contrast polarity does not.
    background_range = (10, 120)
    colour_range = (150, 255)

    def __init__(self, pool: str = 'train', max_rotation: float = 20.0):
        from sklearn.datasets import load_digits
        digits = load_digits()
        keep = (np.arange(len(digits.target)) % 5 == 0) == (pool == 'val')
        self.images, self.labels = digits.images[keep] / 16.0, digits.target[keep]
        self.max_rotation = max_rotation

    def draw(self, rng, img: Image.Image, cls: int, centre, radius):
        import cv2
        glyph = self.images[rng.choice(np.flatnonzero(self.labels == cls))]
        size = max(8, int(round(2 * radius)))
        alpha = Image.fromarray((glyph * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        alpha = alpha.rotate(rng.uniform(-self.max_rotation, self.max_rotation), resample=Image.BILINEAR)
        canvas = Image.new('L', img.size, 0)
        x0, y0 = int(round(centre[0] - size / 2)), int(round(centre[1] - size / 2))
        canvas.paste(alpha, (x0, y0))
        coverage = np.asarray(canvas, dtype=np.float32) / 255.0
        mask = (coverage > 0.35).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        polygons = [c.reshape(-1, 2).astype(float) for c in contours if len(c) >= 3]
        if not polygons:
            return []
        arr = np.asarray(img, dtype=np.float32)
        colour = rng.uniform(*self.colour_range, 3)
        alpha3 = np.clip(coverage * 1.5, 0, 1)[..., None]
        img.paste(Image.fromarray((arr * (1 - alpha3) + colour * alpha3).astype(np.uint8)))
        return polygons


def random_scene(rng: np.random.Generator, size: Tuple[int, int], num_classes: int, max_objects: int = 3, *, objects):
    """An image with 1..max_objects non-overlapping objects: (PIL image, [(class index, [polygons (K, 2)])]).

    ``objects`` draws them (:class:`DigitObjects`, or any object with ``draw(rng, img, cls, centre, radius)``
    returning the drawn polygons).
    """
    h, w = size
    img = render_background(rng, (h, w), base_range=getattr(objects, 'background_range', (40, 215)))
    drawn, placed = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(30):
            radius = rng.uniform(0.12, 0.25) * min(h, w)
            centre = rng.uniform([radius, radius], [w - radius, h - radius])
            if all(np.linalg.norm(centre - c) > radius + r + 2 for c, r in placed):
                break
        else:
            continue
        cls = int(rng.integers(num_classes))
        polygons = objects.draw(rng, img, cls, centre, radius)
        if polygons:
            placed.append((centre, radius))
            drawn.append((cls, polygons))
    return img, drawn


def label_map(size: Tuple[int, int], objects, offset: int = 1, background: int = 0) -> np.ndarray:
    """Semantic label map of a scene: ``background`` where empty, ``class + offset`` inside each object."""
    mask = Image.new('L', (size[1], size[0]), background)
    draw = ImageDraw.Draw(mask)
    for cls, polygons in objects:
        for polygon in polygons:
            draw.polygon([tuple(p) for p in polygon], fill=int(cls + offset))
    return np.asarray(mask)


def make_coco_instances(root: str,
                        split: str = 'train',
                        num_images: int = 16,
                        image_size: Tuple[int, int] = (128, 160),
                        classes: Sequence[str] = DigitObjects.classes,
                        max_objects: int = 3,
                        seed: int = 0,
                        img_dir: str = 'images',
                        num_object_classes: int = None,
                        *,
                        drawer) -> str:
    """Write ``root/<img_dir>/<split>_<i>.jpg`` and ``root/annotations/instances_<split>.json``.

    Every name in ``classes`` is declared as a category; objects are drawn from the first
    ``num_object_classes`` (all by default). Objects do not overlap, so each polygon is the object's
    visible mask. Returns the annotation path.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, img_dir), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    h, w = image_size
    coco = dict(
        images=[],
        annotations=[],
        categories=[dict(id=i + 1, name=c, supercategory='shape') for i, c in enumerate(classes)])
    for img_id in range(1, num_images + 1):
        img, objects = random_scene(rng, (h, w), num_object_classes or len(classes), max_objects, objects=drawer)
        for cat, polygons in objects:
            points = np.concatenate(polygons)
            x0, y0 = points.min(0)
            x1, y1 = points.max(0)
            coco['annotations'].append(
                dict(
                    id=len(coco['annotations']) + 1,
                    image_id=img_id,
                    category_id=cat + 1,
                    bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    area=float(sum(_polygon_area(p) for p in polygons)),
                    segmentation=[p.reshape(-1).round(2).tolist() for p in polygons],
                    iscrowd=0))
        file_name = f'{split}_{img_id:05d}.jpg'
        img.save(osp.join(root, img_dir, file_name), quality=95)
        coco['images'].append(dict(id=img_id, file_name=file_name, height=h, width=w))
    ann_file = osp.join(root, 'annotations', f'instances_{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    return ann_file


VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
               'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')


def voc_palette(num: int = 256) -> List[int]:
    """The Pascal VOC colour map (bit-interleaved), flattened for PIL's putpalette."""
    palette = []
    for i in range(num):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def _write_lines(path: str, names: Sequence[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{n}\n' for n in names))


def make_voc_detection(voc_root: str,
                       splits: Dict[str, Dict[str, int]],
                       image_size: Tuple[int, int] = (128, 160),
                       class_names: Sequence[str] = VOC_CLASSES[:4],
                       seed: int = 0,
                       *,
                       drawer) -> None:
    """Pascal VOC detection layout: ``voc_root/<year>/{Annotations/*.xml, JPEGImages/*.jpg,
    ImageSets/Main/<split>.txt}``; object ``i`` is drawn by ``drawer`` and named ``class_names[i]``.

    Args:
        splits: e.g. ``{'VOC2007': {'trainval': 8, 'test': 4}, 'VOC2012': {'trainval': 8}}``.
    """
    rng = np.random.default_rng(seed)
    h, w = image_size
    for year, year_splits in splits.items():
        base = osp.join(voc_root, year)
        for d in ('Annotations', 'JPEGImages'):
            os.makedirs(osp.join(base, d), exist_ok=True)
        for split, count in year_splits.items():
            names = []
            for i in range(count):
                name = f'{year[-4:]}_{split}_{i:05d}'
                img, objects = random_scene(rng, (h, w), len(class_names), objects=drawer)
                img.save(osp.join(base, 'JPEGImages', f'{name}.jpg'), quality=95)
                _write_voc_xml(osp.join(base, 'Annotations', f'{name}.xml'), name, (h, w), objects, class_names)
                names.append(name)
            _write_lines(osp.join(base, 'ImageSets', 'Main', f'{split}.txt'), names)


def _write_voc_xml(path, name, size, objects, class_names) -> None:
    h, w = size
    objs = []
    for cls, polygons in objects:
        points = np.concatenate(polygons)
        x0, y0 = np.floor(points.min(0)).astype(int) + 1  # VOC boxes are 1-based, inclusive
        x1, y1 = np.ceil(points.max(0)).astype(int) + 1
        box = f'<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{min(x1, w)}</xmax><ymax>{min(y1, h)}</ymax>'
        objs.append(f"""  <object><name>{class_names[cls]}</name><pose>Unspecified</pose><truncated>0</truncated>
    <difficult>0</difficult><bndbox>{box}</bndbox>
  </object>""")
    with open(path, 'w') as f:
        f.write(f"""<annotation><folder>VOC</folder><filename>{name}.jpg</filename>
  <size><width>{w}</width><height>{h}</height><depth>3</depth></size><segmented>0</segmented>
{chr(10).join(objs)}
</annotation>
""")


def make_semantic_set(root: str,
                      layout: str,
                      counts: Dict[str, int],
                      image_size: Tuple[int, int] = (96, 128),
                      num_classes: int = 4,
                      seed: int = 0,
                      *,
                      drawer) -> None:
    """Semantic segmentation sets in the folder layouts mmseg's stock configs read.

    layout:
        ``voc12``: ``JPEGImages``, ``SegmentationClass`` (VOC palette PNG), ``SegmentationClassAug`` (grey PNG),
            ``ImageSets/Segmentation/{train,val,aug}.txt``; 0 = background, objects 1..K.
        ``pascal_context``: ``JPEGImages``, ``SegmentationClassContext``, ``ImageSets/SegmentationContext``;
            0 = ignored (reduce_zero_label), objects 1..K, a "ground" class K+1 elsewhere.
        ``cityscapes``: ``leftImg8bit/<split>/synth/*_leftImg8bit.png``, ``gtFine/<split>/synth/
            *_gtFine_labelTrainIds.png``; 0 = road, objects 1..K.
        ``ade20k``: ``images/<training|validation>/*.jpg``, ``annotations/...png``; 0 = ignored, 1 = wall,
            objects 2..K+1.
    counts: images per split (``train``/``val``; ``aug`` for voc12).
    """
    if layout not in _SEMANTIC_WRITERS:
        raise ValueError(f'unknown layout {layout}; one of {sorted(_SEMANTIC_WRITERS)}')
    rng = np.random.default_rng(seed)
    h, w = image_size
    for split, count in counts.items():
        names = []
        for i in range(count):
            img, objects = random_scene(rng, (h, w), num_classes, objects=drawer)
            name = f'{split}_{i:05d}'
            names.append(name)
            _SEMANTIC_WRITERS[layout](root, split, name, img, objects, num_classes)
        split_list = _SEMANTIC_SPLIT_LISTS.get(layout)
        if split_list:
            _write_lines(osp.join(root, 'ImageSets', split_list, f'{split}.txt'), names)


def _write_voc12(root, split, name, img, objects, num_classes) -> None:
    labels = label_map(img.size[::-1], objects, offset=1, background=0)
    _save(img, osp.join(root, 'JPEGImages', f'{name}.jpg'))
    if split == 'aug':  # SegmentationClassAug holds grey label PNGs, SegmentationClass palette PNGs
        _save(Image.fromarray(labels), osp.join(root, 'SegmentationClassAug', f'{name}.png'))
        return
    png = Image.fromarray(labels, mode='P')
    png.putpalette(voc_palette())
    _save(png, osp.join(root, 'SegmentationClass', f'{name}.png'))


def _write_pascal_context(root, split, name, img, objects, num_classes) -> None:
    labels = label_map(img.size[::-1], objects, offset=1, background=num_classes + 1)
    _save(img, osp.join(root, 'JPEGImages', f'{name}.jpg'))
    _save(Image.fromarray(labels), osp.join(root, 'SegmentationClassContext', f'{name}.png'))


def _write_cityscapes(root, split, name, img, objects, num_classes) -> None:
    labels = label_map(img.size[::-1], objects, offset=1, background=0)
    _save(img, osp.join(root, 'leftImg8bit', split, 'synth', f'{name}_leftImg8bit.png'))
    _save(Image.fromarray(labels), osp.join(root, 'gtFine', split, 'synth', f'{name}_gtFine_labelTrainIds.png'))


def _write_ade20k(root, split, name, img, objects, num_classes) -> None:
    labels = label_map(img.size[::-1], objects, offset=2, background=1)
    sub = 'training' if split == 'train' else 'validation'
    _save(img, osp.join(root, 'images', sub, f'{name}.jpg'))
    _save(Image.fromarray(labels), osp.join(root, 'annotations', sub, f'{name}.png'))


# One writer per mmseg folder layout, and the ImageSets folder of the layouts that list their splits.
_SEMANTIC_WRITERS = dict(
    voc12=_write_voc12, pascal_context=_write_pascal_context, cityscapes=_write_cityscapes, ade20k=_write_ade20k)
_SEMANTIC_SPLIT_LISTS = dict(voc12='Segmentation', pascal_context='SegmentationContext')


def _save(img: Image.Image, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img.save(path, quality=95) if path.endswith('.jpg') else img.save(path)


def _polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
