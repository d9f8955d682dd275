"""The tests' "shapes world": objects from polygon families (star, triangle, ...) whose colour, size,
rotation, position, background texture and clutter are random, so class is carried by shape alone. Drawn
into the demo world's file formats by passing ``drawer=ShapeObjects(...)`` to its writers."""
import math
import os
import os.path as osp
from typing import List, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mcl_mm.experiments.world import add_clutter, render_background

SHAPE_CLASSES = ('triangle', 'square', 'pentagon', 'star', 'cross', 'circle', 'arrow', 'crescent')


def _unit_polygon(shape: str) -> np.ndarray:
    """Vertices of the class's polygon, centred at 0, radius ~1."""
    if shape == 'triangle':
        angles = np.deg2rad([90, 210, 330])
        return np.stack([np.cos(angles), np.sin(angles)], 1)
    if shape == 'square':
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * 0.8
    if shape == 'pentagon':
        angles = np.deg2rad(90 + 72 * np.arange(5))
        return np.stack([np.cos(angles), np.sin(angles)], 1)
    if shape == 'star':
        angles = np.deg2rad(90 + 36 * np.arange(10))
        radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)
    if shape == 'cross':
        a, b = 0.3, 1.0
        return np.array([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a], [-b, a],
                         [-b, -a], [-a, -a]])
    if shape == 'circle':
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        return np.stack([np.cos(angles), np.sin(angles)], 1) * 0.9
    if shape == 'arrow':
        return np.array([[-1, -0.3], [0.2, -0.3], [0.2, -0.75], [1, 0], [0.2, 0.75], [0.2, 0.3], [-1, 0.3]])
    if shape == 'crescent':
        outer = np.deg2rad(np.linspace(60, 300, 16))
        inner = np.deg2rad(np.linspace(300, 60, 16))
        return np.concatenate([
            np.stack([np.cos(outer), np.sin(outer)], 1),
            np.stack([0.35 + 0.6 * np.cos(inner), 0.6 * np.sin(inner)], 1)
        ])
    raise ValueError(f'unknown shape {shape}')


def _object_polygon(rng, shape, centre, radius, max_rotation: float = 180.0) -> np.ndarray:
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    aspect = np.array([1.0, rng.uniform(0.75, 1.25)])
    return (_unit_polygon(shape) * aspect) @ rot.T * radius + np.asarray(centre)


def _draw(img: Image.Image, polygon: np.ndarray, colour) -> None:
    ImageDraw.Draw(img).polygon([tuple(p) for p in polygon], fill=tuple(int(c) for c in colour))


def _contrasting_colour(rng, img, polygon) -> np.ndarray:
    """A random colour far enough from the background under the object to stay visible."""
    arr = np.asarray(img, dtype=float)
    x0, y0 = np.clip(polygon.min(0).astype(int), 0, None)
    x1, y1 = polygon.max(0).astype(int) + 1
    local = arr[y0:y1, x0:x1].reshape(-1, 3).mean(0) if (y1 > y0 and x1 > x0) else arr.reshape(-1, 3).mean(0)
    for _ in range(20):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - local).sum() > 150:
            return colour
    return 255 - local


class ShapeObjects:
    """Objects drawn from polygon families (``SHAPE_CLASSES``)."""

    def __init__(self, shapes: Sequence[str] = SHAPE_CLASSES, max_rotation: float = 180.0):
        self.shapes, self.max_rotation = tuple(shapes), max_rotation

    def draw(self, rng, img: Image.Image, cls: int, centre, radius):
        h, w = img.size[1], img.size[0]
        polygon = np.clip(_object_polygon(rng, self.shapes[cls], centre, radius, self.max_rotation), 0, [w - 1, h - 1])
        _draw(img, polygon, _contrasting_colour(rng, img, polygon))
        return [polygon]


def make_classification_folder(root: str,
                               num_classes: int = 8,
                               train_per_class: int = 40,
                               val_per_class: int = 10,
                               image_size: int = 32,
                               seed: int = 0,
                               clutter: int = 3,
                               max_rotation: float = 180.0,
                               noise: float = 30.0) -> List[str]:
    """Write ``root/{train,val}/<class>/<i>.png`` (the ImageNet / CustomDataset folder layout).

    Difficulty knobs: ``clutter`` (max distractor strokes), ``max_rotation`` (degrees either way),
    ``noise`` (max background noise std). Returns the class names (sorted folder order = label order).
    """
    if not 2 <= num_classes <= len(SHAPE_CLASSES):
        raise ValueError(f'num_classes must be in [2, {len(SHAPE_CLASSES)}], got {num_classes}')
    classes = sorted(SHAPE_CLASSES[:num_classes])
    rng = np.random.default_rng(seed)
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        for cls in classes:
            os.makedirs(osp.join(root, split, cls), exist_ok=True)
            for i in range(per_class):
                img = render_background(rng, (image_size, image_size), noise)
                radius = rng.uniform(0.22, 0.4) * image_size
                centre = rng.uniform(radius, image_size - radius, 2)
                polygon = _object_polygon(rng, cls, centre, radius, max_rotation)
                _draw(img, polygon, _contrasting_colour(rng, img, polygon))
                add_clutter(rng, img, int(rng.integers(0, clutter + 1)))
                if rng.random() < 0.3:
                    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
                img.save(osp.join(root, split, cls, f'{i:05d}.png'))
    return classes
