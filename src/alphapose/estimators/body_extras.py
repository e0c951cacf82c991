"""3D body keypoints and person masks from outputs of the body landmark model that the 2D
estimate does not use (``--world``, ``--masks``).

Besides the 2D landmarks, every BlazePose landmark pass returns

* 39 *world* landmarks ``(x, y, z)`` in metres, centred on the middle of the hips. Their axes
  are the crop's: ``x`` to the crop's right, ``y`` down the crop, ``z`` away from the camera.
  The crop is rotated with the person (see :func:`~alphapose.estimators.blaze_body.
  roi_from_alignment_points`), so :func:`world_to_image_axes` turns ``(x, y)`` back by the
  crop's rotation: afterwards ``x`` and ``y`` point along the image's columns and rows.
  (Measured by ``bench/world.py`` over the 136 bodies of the shared images: the mean cosine
  between the hip-centred 2D landmarks and the world ``(x, y)`` is 0.995 turned back, 0.958
  not; 0.996 and 0.790 for the 23 crops turned by more than 0.2 rad.)
* a ``256 x 256`` segmentation map of the crop (logits, the crop's pixel grid), which
  :func:`warp_segmentation` maps back onto the image through the crop's own affine
  (:func:`alphapose.transforms.crop_from_img_matrix`), and :func:`resolve_masks` turns into
  one mask per person, each pixel going to one person at most.

One picture cannot tell a person's size: the world landmarks' metres are a prior the model
learnt, and its skeletons are small (``bench/world.py``, the 35 large confident people of the
shared images: median upper arm 0.236 m, thigh 0.370 m, forearm 0.218 m, shank 0.361 m,
shoulder width 0.337 m; adult joint-centre lengths are about 0.30-0.33, 0.40-0.43, 0.24-0.26,
0.40-0.43 and 0.36-0.40 m). MediaPipe Pose's own ``pose_world_landmarks`` on the same people
are the same (median ratio ours / MediaPipe 1.006, 1.010, 1.000), so this is the model, not
the decoding; and the model's scale follows how much of the crop the person fills (median
upper arm 0.235 m on the kept crop, 0.201 m on a crop 1.5 times as large). So, as monocular
3D methods do, :func:`scale_to_height` gives each skeleton a person's size: its limbs (upper
arms, forearms, thighs, shanks) are scaled together to sum to those of a person ``height``
tall (Winter's segment lengths as fractions of height, :data:`LIMB_FRACTIONS`; default
1.70 m, ``--world-height``; the user who knows the person's height gives it; 0 keeps the
model's own metres). Proportions, angles and depth are the model's. The world ``(x, y)`` is
the 2D skeleton at one scale (median y / x pixels-per-metre ratio 1.002); bones pointing at
the camera come out shorter still (thighs of people sitting: 0.34-0.36 m against 0.38-0.39 m
across the image, model scale).

3D keypoints follow the 2D layout (:func:`world_to_halpe26`): the points BlazePose has, the
same derived points as the 2D mapping (head = eye midpoint + 2 x (eye midpoint - mouth
midpoint), neck = shoulder midpoint, hip = hip midpoint), and NaN where it has no source (the
small toes, which the 2D mapping only guesses; face and hands).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from alphapose.masks import encode_rle_region
from alphapose.structures import official_person_scores
from alphapose.transforms import RotatedRect, crop_from_img_matrix

__all__ = [
    "MASK_RESOLUTIONS",
    "MaskRegion",
    "keypoints_3d",
    "person_extras",
    "resolve_masks",
    "rle_array",
    "scale_to_height",
    "warp_segmentation",
    "world_to_halpe26",
    "world_to_image_axes",
]

#: COCO-17 from BlazePose-33 (the same as the 2D mapping)
_TO_COCO17 = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
#: how pixels two people's masks both cover are given to one of them
MASK_RESOLUTIONS = ("score", "logit")
#: segmentation logits are clipped to this before warping (the model gives -1500 .. 270)
_LOGIT_LIMIT = 20.0


def world_to_image_axes(world: np.ndarray, rotation: float) -> np.ndarray:
    """World landmarks with ``(x, y)`` turned from the crop's axes to the image's.

    Args:
        world: ``(P, 3)`` metres in the crop's axes.
        rotation: the crop's rotation (:attr:`RotatedRect.rotation`: the angle of the crop's
            x axis in image coordinates).

    Returns:
        ``(P, 3)`` float32 metres, ``x`` along image columns, ``y`` along image rows, ``z``
        unchanged.
    """
    c, s = np.cos(rotation), np.sin(rotation)
    out = np.array(world, np.float64)
    x, y = out[:, 0].copy(), out[:, 1].copy()
    out[:, 0] = c * x - s * y
    out[:, 1] = s * x + c * y
    return out.astype(np.float32)


def world_to_halpe26(world: np.ndarray) -> np.ndarray:
    """Halpe-26 3D keypoints from 33+ BlazePose world landmarks.

    Args:
        world: ``(33+, 3)`` metres.

    Returns:
        ``(26, 3)`` float32 metres; the small toes (22, 23) are NaN (no source).
    """
    world = np.asarray(world, np.float64)
    out = np.full((26, 3), np.nan)
    out[:17] = world[_TO_COCO17]
    eyes = (world[2] + world[5]) / 2
    mouth = (world[9] + world[10]) / 2
    out[17] = eyes + 2.0 * (eyes - mouth)
    out[18] = (world[11] + world[12]) / 2
    out[19] = (world[23] + world[24]) / 2
    out[20], out[21] = world[31], world[32]   # big toes = foot index
    out[24], out[25] = world[29], world[30]   # heels
    return out.astype(np.float32)


def keypoints_3d(worlds: list[np.ndarray | None], rects: list[RotatedRect],
                 num_keypoints: int) -> np.ndarray:
    """``(N, num_keypoints, 3)`` 3D keypoints of N people in a layout that starts with
    Halpe-26 (Halpe-26, Halpe-136), NaN past the body and feet.

    Args:
        worlds: per person the ``(39, 3)`` world landmarks of the pass whose 2D is kept (None:
            not known, all NaN).
        rects: per person that pass's crop.
        num_keypoints: keypoints of the layout (>= 26).
    """
    out = np.full((len(worlds), num_keypoints, 3), np.nan, np.float32)
    for n, (world, rect) in enumerate(zip(worlds, rects, strict=True)):
        if world is not None:
            out[n, :26] = world_to_halpe26(world_to_image_axes(world, rect.rotation))
    return out


#: limb segment lengths between joint centres as fractions of standing height (D. A. Winter,
#: *Biomechanics and Motor Control of Human Movement*, 4th ed., Fig. 4.1): upper arm
#: (shoulder-elbow), forearm (elbow-wrist), thigh (hip-knee), shank (knee-ankle); by COCO-17
#: indices, both sides
LIMB_FRACTIONS = (((5, 7), 0.186), ((6, 8), 0.186), ((7, 9), 0.146), ((8, 10), 0.146),
                  ((11, 13), 0.245), ((12, 14), 0.245), ((13, 15), 0.246), ((14, 16), 0.246))
#: the height the 3D keypoints are scaled to unless told (metres; an adult's, both sexes)
WORLD_HEIGHT = 1.70


def scale_to_height(points_3d: np.ndarray, height: float | None) -> np.ndarray:
    """3D keypoints scaled per person so that their limbs (:data:`LIMB_FRACTIONS`, the limbs
    whose two ends are known) sum to those of a person ``height`` metres tall.

    Args:
        points_3d: ``(N, K, 3)`` in a layout that starts with COCO-17 (NaN = absent).
        height: metres; None or 0 returns the keypoints as they are.

    Returns:
        a scaled copy (people with no known limb are left as they are).
    """
    points = np.array(points_3d, np.float32)
    if not height:
        return points
    if not np.isfinite(height) or height < 0:
        raise ValueError(f"height: expected metres > 0 (or 0: the model's scale), got {height!r}")
    for person in points:
        measured = expected = 0.0
        for (a, b), fraction in LIMB_FRACTIONS:
            length = float(np.linalg.norm(person[a] - person[b]))
            if np.isfinite(length) and length > 0:
                measured += length
                expected += fraction * height
        if measured > 0:
            person *= expected / measured
    return points


@dataclass
class MaskRegion:
    """A person's segmentation logits on the part of the image their crop covers.

    Attributes:
        x0: image column of the region's first column.
        y0: image row of the region's first row.
        logits: ``(h, w)`` float32; > 0 = inside the person.
    """

    x0: int
    y0: int
    logits: np.ndarray


def warp_segmentation(logits: np.ndarray, rect: RotatedRect,
                      image_shape: tuple[int, ...]) -> MaskRegion | None:
    """Map a crop's segmentation logits onto the image pixels the crop covers.

    The map has the crop's pixel grid (``S x S`` for an ``S x S`` crop), so image pixel ``p``
    reads it at ``crop_from_img(p)`` (bilinear; outside the crop: outside the person).

    Args:
        logits: ``(S, S)`` (or ``(S, S, 1)``) segmentation logits of the crop ``rect``.
        rect: the crop.
        image_shape: ``(H, W, ...)``.

    Returns:
        The region, or None when the crop does not overlap the image.
    """
    logits = np.asarray(logits, np.float32).reshape(np.shape(logits)[:2])
    size_h, size_w = logits.shape
    height, width = image_shape[:2]
    box = rect.bounding_box()
    x0, y0 = max(int(np.floor(box[0])), 0), max(int(np.floor(box[1])), 0)
    x1, y1 = min(int(np.ceil(box[2])) + 1, width), min(int(np.ceil(box[3])) + 1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    crop_from_img = crop_from_img_matrix(rect, size_w, size_h)
    # region pixel (u, v) is image pixel (u + x0, v + y0)
    crop_from_region = crop_from_img.copy()
    crop_from_region[:, 2] += crop_from_img[:, :2] @ np.array([x0, y0], np.float64)
    clipped = np.clip(logits, -_LOGIT_LIMIT, _LOGIT_LIMIT)
    region = cv2.warpAffine(clipped, crop_from_region, (x1 - x0, y1 - y0),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=-_LOGIT_LIMIT)
    return MaskRegion(x0, y0, region)


def resolve_masks(regions: list[MaskRegion | None], scores: np.ndarray,
                  image_shape: tuple[int, ...], resolution: str = "score") -> list[dict[str, Any]]:
    """One COCO RLE mask per person; a pixel inside several people's maps goes to one.

    Args:
        regions: per person the warped logits (:func:`warp_segmentation`; None = empty mask).
        scores: ``(N,)`` person scores.
        image_shape: ``(H, W, ...)``.
        resolution: ``"score"``: the person with the higher score takes the pixel; ``"logit"``:
            the person whose map is more certain there (:data:`MASK_RESOLUTIONS`).

    Returns:
        ``N`` RLE dicts ``{"size": [H, W], "counts": str}`` (:mod:`alphapose.masks`).
    """
    if resolution not in MASK_RESOLUTIONS:
        raise ValueError(f"mask resolution {resolution!r} is not one of {MASK_RESOLUTIONS}")
    height, width = image_shape[:2]
    present = [r for r in regions if r is not None]
    if not present:
        return [encode_rle_region(np.zeros((0, 0), bool), 0, 0, height, width)
                for _ in regions]
    # one canvas over the union of the regions, not the whole image
    ux0 = min(r.x0 for r in present)
    uy0 = min(r.y0 for r in present)
    ux1 = max(r.x0 + r.logits.shape[1] for r in present)
    uy1 = max(r.y0 + r.logits.shape[0] for r in present)
    owner = np.full((uy1 - uy0, ux1 - ux0), -1, np.int32)
    best = np.zeros(owner.shape, np.float32)  # only pixels with logit > 0 are claimed
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    for n in order:
        region = regions[n]
        if region is None:
            continue
        h, w = region.logits.shape
        window = (slice(region.y0 - uy0, region.y0 - uy0 + h),
                  slice(region.x0 - ux0, region.x0 - ux0 + w))
        inside = region.logits > 0
        if resolution == "score":
            claim = inside & (owner[window] < 0)
        else:
            claim = inside & ((owner[window] < 0) | (region.logits > best[window]))
            best[window][claim] = region.logits[claim]
        owner[window][claim] = n
    out = []
    for n, region in enumerate(regions):
        if region is None:
            out.append(encode_rle_region(np.zeros((0, 0), bool), 0, 0, height, width))
            continue
        h, w = region.logits.shape
        mine = owner[region.y0 - uy0:region.y0 - uy0 + h, region.x0 - ux0:region.x0 - ux0 + w] == n
        out.append(encode_rle_region(mine, region.x0, region.y0, height, width))
    return out


def rle_array(rles: list[dict[str, Any]]) -> np.ndarray:
    """``(N,)`` object array of RLE dicts (the form of :attr:`Poses.masks`)."""
    out = np.empty(len(rles), object)
    for n, rle in enumerate(rles):
        out[n] = rle
    return out


def person_extras(people: list[Any], assembled: list[tuple[np.ndarray, np.ndarray]],
                  image_shape: tuple[int, ...], config: Any) -> dict[str, np.ndarray]:
    """The ``Poses`` fields ``keypoints_3d`` and ``masks`` of the people one frame keeps, as
    ``config`` asks for them (``config.world``, ``config.masks``, ``config.mask_resolution``).

    Args:
        people: the kept people (each with ``.body``, a
            :class:`~alphapose.estimators.blaze_body.BodyResult` of the pass whose 2D is kept,
            and ``.box_score``).
        assembled: per person the ``(points (K, 2), scores (K,))`` of the layout (Halpe-136).
        image_shape: ``(H, W, ...)`` of the frame.
        config: the estimator's settings.

    Returns:
        ``{"keypoints_3d": (N, K, 3)}`` and / or ``{"masks": (N,) RLE dicts}``; empty when
        neither is asked for.
    """
    extras: dict[str, np.ndarray] = {}
    if getattr(config, "world", False):
        num_keypoints = assembled[0][0].shape[0]
        extras["keypoints_3d"] = scale_to_height(
            keypoints_3d([p.body.world for p in people], [p.body.rect for p in people],
                         num_keypoints),
            getattr(config, "world_height", WORLD_HEIGHT))
    if getattr(config, "masks", False):
        # the person score the pipeline reports for the embedded estimator (body and feet)
        scores = official_person_scores(np.stack([scores[:26] for _, scores in assembled]),
                                        np.asarray([p.box_score for p in people]))
        regions = [None if p.body.segmentation is None
                   else warp_segmentation(p.body.segmentation, p.body.rect, image_shape)
                   for p in people]
        extras["masks"] = rle_array(resolve_masks(regions, scores, image_shape,
                                                  getattr(config, "mask_resolution", "score")))
    return extras


#: bones whose length in metres :func:`bone_lengths` measures, by COCO-17 / Halpe keypoint names
BONES = {"left_upper_arm": ("left_shoulder", "left_elbow"),
         "right_upper_arm": ("right_shoulder", "right_elbow"),
         "left_thigh": ("left_hip", "left_knee"),
         "right_thigh": ("right_hip", "right_knee"),
         "shoulders": ("left_shoulder", "right_shoulder")}


def bone_lengths(points_3d: np.ndarray, layout: str) -> dict[str, np.ndarray]:
    """Lengths of :data:`BONES` in metres (NaN where an end is absent).

    Args:
        points_3d: ``(N, K, 3)`` 3D keypoints of ``layout``.
        layout: a layout with the COCO-17 body names (``coco17``, ``halpe26``, ``halpe136``...).

    Returns:
        bone name -> ``(N,)`` lengths.
    """
    from alphapose.skeletons import get_layout

    index = {name: k for k, name in enumerate(get_layout(layout).keypoint_names)}
    points = np.asarray(points_3d, np.float64)
    return {bone: np.linalg.norm(points[:, index[a]] - points[:, index[b]], axis=-1)
            for bone, (a, b) in BONES.items()}
