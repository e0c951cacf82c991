"""Tracking scenes with real appearance: people cut from real photos, moving over a real street.

The synthetic scenes (:mod:`tracking_scenes.synthetic`) draw stick people in distinct flat
colours; here every person is a real person cut out of a real image along their ground-truth
segmentation (COCO polygons), with their ground-truth keypoints, composited over a real background
that the camera pans across and zooms into. Look-alikes are made on purpose: the same person twice
(twins) and colour-shifted copies (the same cut with its hue turned). Ground truth is known by
construction.

Per frame, :meth:`RealScene.frames` yields like the synthetic scenes:

* the :class:`~alphapose.structures.Frame` (BGR);
* the ground truth (:class:`~alphapose.evaluate.tracking.TrackFrame`: identities and the boxes of
  each person's visible pixels) of the people with at least ``min_visible`` of their pixels in
  view and not hidden by someone nearer;
* what a detector and pose estimator would give (:class:`~alphapose.structures.Poses`, layout
  ``coco17``): the box of the visible pixels with corner noise, the keypoints with noise, scored
  0.9 where the keypoint is labelled and visible, 0.02 where it is hidden (by a nearer person,
  the image edge or in the source photo), minus scheduled detector drop-outs; shuffled.

People are drawn far to near (by their feet's image row), so the nearer person hides the other
where they cross.

Example:
    >>> cutouts = load_coco_cutouts(data / "mmpose/coco/test_coco.json")
    >>> background = cv2.imread(str(data / "boxmot/.../img1/000001.jpg"))
    >>> scene = real_crossing(cutouts, background, seed=0)
    >>> for frame, gt, observed in scene.frames():
    ...     tracked = tracker.update(frame, observed)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from alphapose.evaluate.tracking import TrackFrame
from alphapose.skeletons import get_layout
from alphapose.structures import Frame, Poses

__all__ = [
    "REAL_SCENES",
    "Cutout",
    "RealScene",
    "Walker",
    "load_coco_cutouts",
    "real_crossing",
    "real_crowd",
    "real_lookalikes",
    "real_pan_zoom",
]


@dataclass(frozen=True)
class Cutout:
    """A person cut from a real image.

    Attributes:
        image: ``(h, w, 3)`` BGR pixels of the person's box.
        mask: ``(h, w)`` bool, the person's segmentation inside the box.
        keypoints: ``(17, 2)`` COCO-17 keypoints in the cut's pixels (pixel centres at integers).
        labelled: ``(17,)`` bool, keypoints labelled in the source (visible or not).
        name: ``file:annotation id``.
    """

    image: np.ndarray
    mask: np.ndarray
    keypoints: np.ndarray
    labelled: np.ndarray
    name: str


def load_coco_cutouts(annotations: str | Path, images: str | Path | None = None,
                      min_keypoints: int = 12, min_height: float = 100.0) -> list[Cutout]:
    """People with segmentation polygons and keypoints from a COCO keypoints JSON.

    Args:
        annotations: the JSON file.
        images: folder of the images (default: the JSON's folder).
        min_keypoints: people with fewer labelled keypoints are skipped.
        min_height: people with a shorter box (pixels) are skipped.

    Returns:
        The cut-outs, in annotation order.

    Raises:
        ValueError: the file holds no person that qualifies (the message names the file).
    """
    annotations = Path(annotations)
    root = annotations.parent if images is None else Path(images)
    data = json.loads(annotations.read_text())
    files = {im["id"]: im["file_name"] for im in data.get("images", [])}
    loaded: dict[int, np.ndarray | None] = {}
    out = []
    for ann in data.get("annotations", []):
        kp = np.asarray(ann.get("keypoints", []), np.float64).reshape(-1, 3)
        polygons = ann.get("segmentation")
        if (len(kp) != 17 or (kp[:, 2] > 0).sum() < min_keypoints or ann.get("iscrowd")
                or not isinstance(polygons, list) or ann["bbox"][3] < min_height):
            continue
        image_id = ann["image_id"]
        if image_id not in loaded:
            loaded[image_id] = cv2.imread(str(root / files[image_id]))
        image = loaded[image_id]
        if image is None:
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        x1, y1 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
        x2 = min(int(np.ceil(x + w)), image.shape[1])
        y2 = min(int(np.ceil(y + h)), image.shape[0])
        mask = np.zeros(image.shape[:2], np.uint8)
        for poly in polygons:
            points = np.round(np.asarray(poly, np.float64).reshape(-1, 2)).astype(np.int32)
            cv2.fillPoly(mask, [points], 1)
        out.append(Cutout(image[y1:y2, x1:x2].copy(), mask[y1:y2, x1:x2] > 0,
                          kp[:, :2] - [x1, y1], kp[:, 2] > 0,
                          f"{files[image_id]}:{ann.get('id')}"))
    if not out:
        raise ValueError(f"{annotations}: no person with segmentation, >= {min_keypoints} "
                         f"keypoints and a box >= {min_height:g} px high")
    return out


@dataclass(frozen=True)
class Walker:
    """One person of a scene.

    Attributes:
        person_id: ground-truth identity.
        cutout: index into the scene's cut-outs.
        path: ``(F, 2)`` world position of the feet (bottom centre of the box) per frame, NaN
            where the person is not in the scene.
        height: standing height in world pixels.
        hue_shift: hue rotation of the cut's pixels in OpenCV units (0-179; 0 = the real colours).
        mirror: draw the cut mirrored left-right (keypoints follow, left and right swapped).
        copy_of: the identity of the person this one copies (a look-alike), or ``None``.
    """

    person_id: int
    cutout: int
    path: np.ndarray
    height: float
    hue_shift: int = 0
    mirror: bool = False
    copy_of: int | None = None


@dataclass
class RealScene:
    """A composited scene; see the module docstring.

    Attributes:
        name: scene name.
        cutouts: the people's pixels.
        background: ``(H, W, 3)`` BGR world image.
        walkers: the people.
        num_frames: frames.
        size: ``(width, height)`` of the frames.
        camera: ``(F, 3)`` per frame: the world point at the image centre ``(x, y)`` and the zoom
            (image pixels per world pixel); ``None``: fixed, the world's centre at zoom 1.
        dropouts: ``(person_id, first frame, length)`` detector misses.
        keypoint_noise: keypoint noise standard deviation as a share of the person's height.
        box_noise: box corner noise standard deviation as a share of the person's height.
        min_visible: share of a person's pixels that must be in view and unhidden.
        seed: seed of the noise and the order of the observations.
    """

    name: str
    cutouts: list[Cutout]
    background: np.ndarray
    walkers: list[Walker]
    num_frames: int
    size: tuple[int, int] = (640, 360)
    camera: np.ndarray | None = None
    dropouts: list[tuple[int, int, int]] = field(default_factory=list)
    keypoint_noise: float = 0.01
    box_noise: float = 0.02
    min_visible: float = 0.3
    seed: int = 0

    @property
    def lookalikes(self) -> list[tuple[int, int]]:
        """``(person_id, copy's person_id)`` of every look-alike pair."""
        return [(w.copy_of, w.person_id) for w in self.walkers if w.copy_of is not None]

    def _camera(self, t: int) -> tuple[float, float, float]:
        if self.camera is None:
            h, w = self.background.shape[:2]
            return w / 2, h / 2, 1.0
        cx, cy, zoom = (float(v) for v in self.camera[t])
        return cx, cy, zoom

    def frames(self) -> Iterator[tuple[Frame, TrackFrame, Poses]]:
        """Yield ``(frame, ground truth, observations)`` for every frame."""
        width, height = self.size
        rng = np.random.default_rng(self.seed)
        flip = np.asarray(get_layout("coco17").flip_index, np.int64)
        dropped = {(pid, f) for pid, start, length in self.dropouts
                   for f in range(start, start + length)}
        looks = {}
        for walker in self.walkers:
            cut = self.cutouts[walker.cutout]
            image, mask, kp, labelled = cut.image, cut.mask, cut.keypoints, cut.labelled
            if walker.mirror:
                image, mask = image[:, ::-1], mask[:, ::-1]
                kp = np.c_[image.shape[1] - 1 - kp[:, 0], kp[:, 1]][flip]
                labelled = labelled[flip]
            if walker.hue_shift:
                hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2HSV)
                hsv[..., 0] = (hsv[..., 0].astype(np.int32) + walker.hue_shift) % 180
                image = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
            looks[walker.person_id] = (np.ascontiguousarray(image), np.ascontiguousarray(mask),
                                       kp, labelled)
        for t in range(self.num_frames):
            cx, cy, zoom = self._camera(t)
            image_from_world = np.array([[zoom, 0, width / 2 - zoom * cx],
                                         [0, zoom, height / 2 - zoom * cy]])
            canvas = cv2.warpAffine(self.background, image_from_world, (width, height),
                                    flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            labels = np.full((height, width), -1, np.int32)
            placed = []
            for walker in self.walkers:
                feet = walker.path[t]
                if not np.isfinite(feet).all():
                    continue
                fx, fy = image_from_world @ np.array([feet[0], feet[1], 1.0])
                placed.append((fy, walker, fx, walker.height * zoom))
            placed.sort(key=lambda item: item[0])
            drawn = []
            for index, (fy, walker, fx, person_h) in enumerate(placed):
                image, mask, kp, labelled = looks[walker.person_id]
                scale = person_h / image.shape[0]
                new_w = max(2, round(image.shape[1] * scale))
                new_h = max(2, round(person_h))
                x0 = round(fx - new_w / 2)
                y0 = round(fy - new_h)
                small = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
                small_mask = cv2.resize(mask.astype(np.uint8), (new_w, new_h),
                                        interpolation=cv2.INTER_NEAREST) > 0
                # the part of the person inside the image
                ix1, iy1 = max(x0, 0), max(y0, 0)
                ix2, iy2 = min(x0 + new_w, width), min(y0 + new_h, height)
                full = int(small_mask.sum())
                if ix2 > ix1 and iy2 > iy1:
                    sub = small_mask[iy1 - y0:iy2 - y0, ix1 - x0:ix2 - x0]
                    region = canvas[iy1:iy2, ix1:ix2]
                    region[sub] = small[iy1 - y0:iy2 - y0, ix1 - x0:ix2 - x0][sub]
                    labels[iy1:iy2, ix1:ix2][sub] = index
                sx, sy = new_w / image.shape[1], new_h / image.shape[0]
                points = (kp + 0.5) * [sx, sy] - 0.5 + [x0, y0]
                drawn.append((walker, points, labelled, full, person_h))
            gt_rows, obs_rows = [], []
            for index, (walker, points, labelled, full, person_h) in enumerate(drawn):
                ys, xs = np.nonzero(labels == index)
                if full == 0 or len(xs) < self.min_visible * full:
                    continue
                box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float64)
                gt_rows.append((walker.person_id, box))
                if (walker.person_id, t) in dropped:
                    continue
                xi, yi = np.round(points[:, 0]).astype(int), np.round(points[:, 1]).astype(int)
                inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
                owner = np.full(len(points), -2)
                owner[inside] = labels[yi[inside], xi[inside]]
                # hidden: outside the image, or on a nearer person's pixels
                visible = labelled & inside & ((owner == index) | (owner == -1))
                noisy = points + rng.normal(0, self.keypoint_noise * person_h, points.shape)
                scores = np.where(visible, 0.9, 0.02).astype(np.float32)
                noisy_box = box + rng.normal(0, self.box_noise * person_h, 4)
                noisy_box[2:] = np.maximum(noisy_box[2:], noisy_box[:2] + 2)
                obs_rows.append((walker.person_id, noisy, scores, noisy_box))
            gt = (TrackFrame([r[0] for r in gt_rows], np.stack([r[1] for r in gt_rows]))
                  if gt_rows else TrackFrame.empty())
            if obs_rows:
                obs = Poses(np.stack([r[1] for r in obs_rows]).astype(np.float32),
                            np.stack([r[2] for r in obs_rows]),
                            np.stack([r[3] for r in obs_rows]).astype(np.float32),
                            np.full(len(obs_rows), 0.9, np.float32), layout="coco17")
                obs = obs[rng.permutation(len(obs))]     # order must carry no identity
            else:
                obs = Poses.empty(17, "coco17")
            yield Frame(canvas, t, f"{t}.jpg", source=f"real_scene:{self.name}"), gt, obs


# ------------------------------------------------------------------------------------------------
# scene builders: (cutouts, background, seed) -> RealScene
# ------------------------------------------------------------------------------------------------


def _lane(x0: float, y: float, vx: float, frames: int, lo: float, hi: float) -> np.ndarray:
    """Back and forth between ``lo`` and ``hi`` at ``vx`` world pixels per frame."""
    path = np.full((frames, 2), np.nan)
    x, v = x0, vx
    for t in range(frames):
        path[t] = (x, y)
        x += v
        if x < lo or x > hi:
            v = -v
            x += 2 * v
    return path


def _world(background: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The background scaled so its height is 1.25 x the frame's (room to pan and zoom)."""
    scale = 1.25 * size[1] / background.shape[0]
    return cv2.resize(background, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _distinct(cutouts: list[Cutout], n: int) -> list[int]:
    """``n`` different cut-outs, the most upright first (standing people, not seated ones)."""
    if len(cutouts) < n:
        raise ValueError(f"cutouts: {n} distinct people needed, got {len(cutouts)}")
    upright = sorted(range(len(cutouts)),
                     key=lambda i: -cutouts[i].image.shape[0] / cutouts[i].image.shape[1])
    return upright[:n]


def _dropouts(rng: np.random.Generator, ids: list[int], frames: int, per_person: int = 1
              ) -> list[tuple[int, int, int]]:
    out = []
    for pid in ids:
        for start in rng.choice(np.arange(10, frames - 20), size=per_person, replace=False):
            out.append((pid, int(start), int(rng.integers(1, 6))))
    return out


def real_crossing(cutouts: list[Cutout], background: np.ndarray, seed: int = 0,
                  num_frames: int = 120) -> RealScene:
    """Four different people in two lanes cross each other repeatedly (the nearer lane hides
    the farther), the camera panning slowly; short detector drop-outs."""
    rng = np.random.default_rng(seed)
    world = _world(background, (640, 360))
    w, h = world.shape[1], world.shape[0]
    cx0 = w / 2
    lo, hi = cx0 - 300, cx0 + 300
    spec = [(lo + 20, 0.92, 3.4, 170), (hi - 20, 0.95, -3.1, 176),
            (lo + 80, 0.80, 2.7, 140), (hi - 80, 0.82, -2.9, 144)]
    walkers = [Walker(i, c, _lane(x, y * h, v + rng.normal(0, 0.1), num_frames, lo, hi), hgt)
               for i, (c, (x, y, v, hgt)) in enumerate(zip(_distinct(cutouts, 4), spec))]
    camera = np.c_[cx0 + 40 * np.sin(np.arange(num_frames) / 30), np.full(num_frames, h * 0.6),
                   np.ones(num_frames)]
    return RealScene("real_crossing", cutouts, world, walkers, num_frames, camera=camera,
                     dropouts=_dropouts(rng, [0, 1, 2, 3], num_frames), seed=seed)


def real_lookalikes(cutouts: list[Cutout], background: np.ndarray, seed: int = 0,
                    num_frames: int = 120) -> RealScene:
    """Look-alikes crossing: the same person twice (twins, one mirrored) and a person with a
    colour-shifted copy, in two lanes that cross; plus one distinct person."""
    rng = np.random.default_rng(seed)
    world = _world(background, (640, 360))
    w, h = world.shape[1], world.shape[0]
    cx0 = w / 2
    lo, hi = cx0 - 300, cx0 + 300
    a, b, c = _distinct(cutouts, 3)
    walkers = [
        Walker(0, a, _lane(lo + 20, 0.92 * h, 3.2, num_frames, lo, hi), 170),
        Walker(1, a, _lane(hi - 20, 0.93 * h, -3.0, num_frames, lo, hi), 172, mirror=True,
               copy_of=0),
        Walker(2, b, _lane(lo + 90, 0.80 * h, 2.6, num_frames, lo, hi), 142),
        Walker(3, b, _lane(hi - 90, 0.81 * h, -2.8, num_frames, lo, hi), 140, hue_shift=60,
               copy_of=2),
        Walker(4, c, _lane(cx0, 0.70 * h, 1.5 + rng.normal(0, 0.1), num_frames, lo, hi), 120),
    ]
    camera = np.c_[np.full(num_frames, cx0), np.full(num_frames, h * 0.6), np.ones(num_frames)]
    return RealScene("real_lookalikes", cutouts, world, walkers, num_frames, camera=camera,
                     dropouts=_dropouts(rng, [0, 1, 2, 3, 4], num_frames), seed=seed)


def real_pan_zoom(cutouts: list[Cutout], background: np.ndarray, seed: int = 0,
                  num_frames: int = 150) -> RealScene:
    """Four different people walking while the camera pans 4 px/frame and zooms from 0.8x to
    1.4x and back (people grow and shrink, the whole view slides)."""
    rng = np.random.default_rng(seed)
    world = _world(background, (640, 360))
    w, h = world.shape[1], world.shape[0]
    cx0 = w / 2
    lo, hi = cx0 - 350, cx0 + 350
    spec = [(cx0 - 200, 0.90, 2.0, 165), (cx0 + 200, 0.88, -1.8, 160),
            (cx0 - 50, 0.78, 2.6, 135), (cx0 + 120, 0.76, -2.4, 130)]
    walkers = [Walker(i, c, _lane(x, y * h, v, num_frames, lo, hi), hgt)
               for i, (c, (x, y, v, hgt)) in enumerate(zip(_distinct(cutouts, 4), spec))]
    t = np.arange(num_frames)
    pan = cx0 - 150 + 300 * (0.5 - 0.5 * np.cos(np.pi * t / num_frames * 2))
    zoom = 1.1 - 0.3 * np.cos(2 * np.pi * t / num_frames)
    camera = np.c_[pan, np.full(num_frames, h * 0.62), zoom]
    return RealScene("real_pan_zoom", cutouts, world, walkers, num_frames, camera=camera,
                     dropouts=_dropouts(rng, [0, 1, 2, 3], num_frames), seed=seed)


def real_crowd(cutouts: list[Cutout], background: np.ndarray, seed: int = 0,
               num_frames: int = 100, num_people: int = 10) -> RealScene:
    """``num_people`` people in lanes at different depths, every cut-out used (more people than
    cut-outs: the extra ones are colour-shifted copies, reported as look-alikes)."""
    rng = np.random.default_rng(seed)
    world = _world(background, (640, 360))
    w, h = world.shape[1], world.shape[0]
    cx0 = w / 2
    lo, hi = cx0 - 320, cx0 + 320
    walkers = []
    order = _distinct(cutouts, len(cutouts))
    for i in range(num_people):
        depth = 0.62 + 0.32 * (i + 0.5) / num_people
        v = float(rng.uniform(1.2, 3.5)) * (1 if i % 2 else -1)
        copy_of = i - len(cutouts) if i >= len(cutouts) else None
        walkers.append(Walker(i, order[i % len(cutouts)],
                              _lane(float(rng.uniform(lo, hi)), depth * h, v, num_frames, lo, hi),
                              100 + 90 * (depth - 0.62) / 0.32,
                              hue_shift=0 if copy_of is None else 45 + 30 * (i // len(cutouts)),
                              copy_of=copy_of))
    camera = np.c_[np.full(num_frames, cx0), np.full(num_frames, h * 0.6), np.ones(num_frames)]
    return RealScene("real_crowd", cutouts, world, walkers, num_frames, camera=camera, seed=seed)


#: name -> builder ``(cutouts, background, seed) -> RealScene``.
REAL_SCENES: dict[str, Callable[..., RealScene]] = {
    "real_crossing": real_crossing, "real_lookalikes": real_lookalikes,
    "real_pan_zoom": real_pan_zoom, "real_crowd": real_crowd}
