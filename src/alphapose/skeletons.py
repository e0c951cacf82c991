"""Keypoint layouts as data: names, flip pairs, drawing edges, OKS sigmas and body parts.

Four layouts are defined, all 0-based:

* ``"coco17"``: the 17 COCO body keypoints.
* ``"halpe26"``: COCO-17, then head (top of head), neck, hip (pelvis) and six foot points.
* ``"halpe136"``: Halpe-26, then 68 face points (iBUG-68 order), 21 left-hand, 21 right-hand points.
* ``"coco_wholebody133"``: COCO-17, six foot points (in a *different* order than Halpe),
  68 face, 21 left-hand, 21 right-hand points.

Every keypoint has a canonical name that means the same point in every layout (``"nose"``,
``"left_big_toe"``, ``"face_0"`` … ``"face_67"``, ``"left_hand_0"`` … ``"right_hand_20"``), so
flip pairs, body parts and conversions are all derived from names rather than hand-kept index lists.
A hand has its wrist/root at 0, then four joints per finger from the palm out, thumb (1-4),
index (5-8), middle (9-12), ring (13-16), pinky (17-20).

Example:
    >>> layout = get_layout("halpe136")
    >>> layout.num_keypoints, layout.keypoint_names[18]
    (136, 'neck')
    >>> kp, sc = convert(np.zeros((1, 136, 2)), np.ones((1, 136)), "halpe136", "coco17")
    >>> kp.shape
    (1, 17, 2)
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from alphapose.structures import Poses

__all__ = [
    "PARTS",
    "Layout",
    "convert",
    "convert_poses",
    "get_layout",
    "list_layouts",
]

#: Parts every keypoint belongs to exactly one of (``"hand"`` is their union of both hands).
PARTS: tuple[str, ...] = ("body", "foot", "face", "left_hand", "right_hand")

# ------------------------------------------------------------------------------------------------
# Canonical names
# ------------------------------------------------------------------------------------------------

_COCO_BODY = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# Halpe's three extra body points: top of the head, neck, pelvis centre.
_HALPE_EXTRA = ("head", "neck", "hip")
_FOOT_HALPE = ("left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
               "left_heel", "right_heel")
_FOOT_WHOLEBODY = ("left_big_toe", "left_small_toe", "left_heel",
                   "right_big_toe", "right_small_toe", "right_heel")
_FACE = tuple(f"face_{i}" for i in range(68))
_LEFT_HAND = tuple(f"left_hand_{i}" for i in range(21))
_RIGHT_HAND = tuple(f"right_hand_{i}" for i in range(21))

# Mirror image of each iBUG-68 face landmark (face-local indices; centre-line points are absent
# and map to themselves): jaw 0-16, brows 17-26, nostrils 31-35, eyes 36-47, lips 48-67.
_FACE_MIRROR_PAIRS = (
    *((i, 16 - i) for i in range(8)),
    (17, 26), (18, 25), (19, 24), (20, 23), (21, 22),
    (31, 35), (32, 34),
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58),
    (60, 64), (61, 63), (65, 67),
)
_FACE_MIRROR = {**dict(_FACE_MIRROR_PAIRS), **{b: a for a, b in _FACE_MIRROR_PAIRS}}

# Points a destination layout may need but a source lacks, rebuilt as the midpoint of two others.
# "head" (top of the head) has no such rule: COCO-17 has nothing above the eyes and ears.
_DERIVED: Mapping[str, tuple[str, str]] = MappingProxyType({
    "neck": ("left_shoulder", "right_shoulder"),
    "hip": ("left_hip", "right_hip"),
})


def _part_of_name(name: str) -> str:
    if name.startswith("face_"):
        return "face"
    if name.startswith("left_hand_"):
        return "left_hand"
    if name.startswith("right_hand_"):
        return "right_hand"
    if name.endswith(("_toe", "_heel")):
        return "foot"
    return "body"


def _mirror_name(name: str) -> str:
    if name.startswith("face_"):
        i = int(name[len("face_"):])
        return f"face_{_FACE_MIRROR.get(i, i)}"
    if name.startswith("left_"):
        return "right_" + name[len("left_"):]
    if name.startswith("right_"):
        return "left_" + name[len("right_"):]
    return name


# ------------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------------


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # a private copy, so freezing cannot touch the caller's array
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Layout:
    """One keypoint layout. Instances are immutable; compare them by ``name``.

    Attributes:
        name: registry name, e.g. ``"halpe136"``.
        keypoint_names: ``K`` unique canonical names, in output order.
        flip_pairs: 0-based ``(left, right)`` index pairs swapped by a horizontal flip.
        edges: 0-based ``(a, b)`` keypoint pairs joined when drawing.
        sigmas: ``(K,)`` float64 OKS sigmas as COCO evaluation uses them (nose 0.026).
        parts: part name -> sorted int64 index array, for ``"body"``, ``"foot"``, ``"face"``,
            ``"left_hand"``, ``"right_hand"`` and ``"hand"`` (both hands); empty where the
            layout lacks the part.
    """

    name: str
    keypoint_names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    edges: tuple[tuple[int, int], ...]
    sigmas: np.ndarray = field(repr=False)
    parts: Mapping[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        k = len(self.keypoint_names)
        if len(set(self.keypoint_names)) != k:
            dupes = sorted({n for n in self.keypoint_names if self.keypoint_names.count(n) > 1})
            raise ValueError(f"Layout {self.name!r}: keypoint_names repeat {dupes}")
        sigmas = np.asarray(self.sigmas, np.float64)
        if sigmas.shape != (k,) or not np.all(sigmas > 0):
            raise ValueError(f"Layout {self.name!r}: sigmas must be {k} positive values, "
                             f"got shape {sigmas.shape}")
        for label, pairs in (("flip_pairs", self.flip_pairs), ("edges", self.edges)):
            for a, b in pairs:
                if not (0 <= a < k and 0 <= b < k) or a == b:
                    raise ValueError(f"Layout {self.name!r}: {label} entry {(a, b)} is not a pair "
                                     f"of distinct indices in [0, {k})")
        flipped = [i for pair in self.flip_pairs for i in pair]
        if len(set(flipped)) != len(flipped):
            raise ValueError(f"Layout {self.name!r}: an index appears in more than one flip pair")
        parts = {}
        for part in (*PARTS, "hand"):
            if part not in self.parts:
                raise ValueError(f"Layout {self.name!r}: parts lacks {part!r}")
            parts[part] = _frozen(np.asarray(self.parts[part], np.int64).reshape(-1))
        object.__setattr__(self, "sigmas", _frozen(sigmas))
        object.__setattr__(self, "parts", MappingProxyType(parts))

    @property
    def num_keypoints(self) -> int:
        """``K``, the number of keypoints."""
        return len(self.keypoint_names)

    @cached_property
    def flip_index(self) -> np.ndarray:
        """``(K,)`` int64 permutation swapping left and right.

        Use it as ``keypoints_of_mirrored_image = mirrored_keypoints[..., flip_index, :]``.

        It is its own inverse; unpaired (centre-line) points map to themselves.
        """
        index = np.arange(self.num_keypoints, dtype=np.int64)
        for a, b in self.flip_pairs:
            index[a], index[b] = b, a
        return _frozen(index)

    @cached_property
    def keypoint_parts(self) -> tuple[str, ...]:
        """``K`` part names (one of :data:`PARTS`), one per keypoint."""
        labels = [""] * self.num_keypoints
        for part in PARTS:
            for k in self.parts[part]:
                labels[int(k)] = part
        return tuple(labels)

    @cached_property
    def edge_parts(self) -> tuple[str, ...]:
        """One part name per edge, for colouring: the endpoints' part, or for an edge that joins
        the body to another part (e.g. ankle to heel), that other part."""
        labels = []
        for a, b in self.edges:
            pa, pb = self.keypoint_parts[a], self.keypoint_parts[b]
            labels.append(pa if pb == "body" else pb)
        return tuple(labels)

    def part_of(self, k: int) -> str:
        """The part (``"body"``, ``"foot"``, ``"face"``, ``"left_hand"``, ``"right_hand"``) of
        keypoint ``k``.

        Raises:
            IndexError: ``k`` is outside ``[0, K)``.
        """
        if not 0 <= int(k) < self.num_keypoints:
            raise IndexError(f"k: keypoint index {k} is outside [0, {self.num_keypoints}) for "
                             f"layout {self.name!r}")
        return self.keypoint_parts[int(k)]

    def index(self, name: str) -> int:
        """0-based index of the keypoint called ``name``.

        Raises:
            KeyError: the layout has no such keypoint (the message suggests close names).
        """
        try:
            return self._name_to_index[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.keypoint_names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise KeyError(f"layout {self.name!r} has no keypoint named {name!r}{hint}") from None

    @cached_property
    def _name_to_index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.keypoint_names)}

    def __repr__(self) -> str:
        return f"Layout(name={self.name!r}, num_keypoints={self.num_keypoints})"


def _build_layout(name: str, keypoint_names: tuple[str, ...],
                  edges: tuple[tuple[int, int], ...], sigmas: np.ndarray) -> Layout:
    """Derive flip pairs and parts from the names, so they cannot disagree across layouts."""
    lookup = {n: i for i, n in enumerate(keypoint_names)}
    flip_pairs = []
    for i, n in enumerate(keypoint_names):
        j = lookup.get(_mirror_name(n), i)
        if i < j:
            flip_pairs.append((i, j))
    labels = [_part_of_name(n) for n in keypoint_names]
    parts = {p: np.flatnonzero([lab == p for lab in labels]) for p in PARTS}
    parts["hand"] = np.concatenate([parts["left_hand"], parts["right_hand"]])
    return Layout(name, keypoint_names, tuple(flip_pairs), edges, sigmas, parts)


# ------------------------------------------------------------------------------------------------
# Edges (the official drawing links, 0-based)
# ------------------------------------------------------------------------------------------------

# Face chains in iBUG-68 indices: jaw, right brow, left brow, nose bridge, nostrils, right eye,
# left eye, lips (outer then inner, drawn as one open chain as upstream does).
_FACE_CHAINS = ((0, 16), (17, 21), (22, 26), (27, 30), (31, 35), (36, 41), (42, 47), (48, 67))


def _face_edges(first: int) -> tuple[tuple[int, int], ...]:
    return tuple((first + i, first + i + 1) for lo, hi in _FACE_CHAINS for i in range(lo, hi))


def _hand_edges(root: int) -> tuple[tuple[int, int], ...]:
    """Root to fingertip chains, thumb to pinky: (0,1)(1,2)(2,3)(3,4)(0,5)... (19,20)."""
    edges = []
    for finger in range(5):
        joints = [0, *range(1 + 4 * finger, 5 + 4 * finger)]
        edges += [(root + a, root + b) for a, b in itertools.pairwise(joints)]
    return tuple(edges)


# Upstream draws COCO-17 with an extra mid-shoulder "neck" at index 17 joined to both hips.
# That index does not exist in 17-point data, so the torso is drawn shoulder-hip and hip-hip here.
_COCO17_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (12, 14), (13, 15), (14, 16),
)
_HALPE26_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9), (6, 8), (8, 10),
    (17, 18), (18, 19), (19, 11), (19, 12), (11, 13), (12, 14), (13, 15), (14, 16),
    (20, 24), (21, 25), (23, 25), (22, 24), (15, 24), (16, 25),
)
_HALPE136_EDGES = _HALPE26_EDGES + _face_edges(26) + _hand_edges(94) + _hand_edges(115)
# Upstream's whole-body links have no shoulder-shoulder or torso edges; kept as they are.
_WHOLEBODY_BODY_EDGES = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 7), (7, 9), (6, 8), (8, 10),
    (11, 13), (12, 14), (13, 15), (14, 16),
    (18, 19), (21, 22), (20, 22), (17, 19), (15, 19), (16, 22),
)
_WHOLEBODY133_EDGES = (_WHOLEBODY_BODY_EDGES + _face_edges(23) + _hand_edges(91)
                       + _hand_edges(112))

# ------------------------------------------------------------------------------------------------
# OKS sigmas
# ------------------------------------------------------------------------------------------------

# pycocotools' standard COCO-17 sigmas.
_COCO17_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                           1.07, 1.07, .87, .87, .89, .89]) / 10.0
# Halpe, as halpecocotools evaluates it: head/neck/hip 0.08, feet 0.089, face and hands 0.015.
# The Halpe paper gives 0.015 for *all* added foot, face and hand points; the evaluation code
# uses 0.089 for the six feet, and that is what reported APs were computed with, so we follow it.
_HALPE136_SIGMAS = np.concatenate([_COCO17_SIGMAS, np.full(3, 0.08), np.full(6, 0.089),
                                   np.full(110, 0.015)])
_HALPE26_SIGMAS = _HALPE136_SIGMAS[:26]
# The published COCO-WholeBody per-keypoint sigmas (feet in COCO-WholeBody foot order).
_WHOLEBODY_FOOT_SIGMAS = (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
_WHOLEBODY_FACE_SIGMAS = (
    0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029, 0.032, 0.037,
    0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011, 0.011, 0.013,
    0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010, 0.017, 0.011, 0.009,
    0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010, 0.034, 0.008, 0.008, 0.009, 0.008,
    0.008, 0.007, 0.010, 0.008, 0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008,
    0.008, 0.01, 0.008,
)
_WHOLEBODY_HAND_SIGMAS = (0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018,
                          0.024, 0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022,
                          0.031)
_WHOLEBODY133_SIGMAS = np.concatenate([_COCO17_SIGMAS, _WHOLEBODY_FOOT_SIGMAS,
                                       _WHOLEBODY_FACE_SIGMAS, _WHOLEBODY_HAND_SIGMAS,
                                       _WHOLEBODY_HAND_SIGMAS])

# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------

_LAYOUTS: Mapping[str, Layout] = MappingProxyType({
    layout.name: layout for layout in (
        _build_layout("coco17", _COCO_BODY, _COCO17_EDGES, _COCO17_SIGMAS),
        _build_layout("halpe26", _COCO_BODY + _HALPE_EXTRA + _FOOT_HALPE, _HALPE26_EDGES,
                      _HALPE26_SIGMAS),
        _build_layout("halpe136",
                      _COCO_BODY + _HALPE_EXTRA + _FOOT_HALPE + _FACE + _LEFT_HAND + _RIGHT_HAND,
                      _HALPE136_EDGES, _HALPE136_SIGMAS),
        _build_layout("coco_wholebody133",
                      _COCO_BODY + _FOOT_WHOLEBODY + _FACE + _LEFT_HAND + _RIGHT_HAND,
                      _WHOLEBODY133_EDGES, _WHOLEBODY133_SIGMAS),
    )
})
_ALIASES: Mapping[str, str] = MappingProxyType({
    "coco": "coco17", "coco_17": "coco17",
    "halpe_26": "halpe26", "halpe_136": "halpe136",
    "coco_wholebody": "coco_wholebody133",
    "coco_wholebody_133": "coco_wholebody133", "wholebody": "coco_wholebody133",
    "wholebody133": "coco_wholebody133",
})


def list_layouts() -> tuple[str, ...]:
    """Registry names of all layouts, e.g. ``("coco17", "halpe26", ...)``."""
    return tuple(_LAYOUTS)


def get_layout(name: str | Layout) -> Layout:
    """The layout called ``name`` (case and ``-``/``_`` insensitive; aliases accepted).

    Aliases: ``"coco"`` -> coco17, ``"halpe_26"``, ``"halpe_136"``, ``"coco_wholebody"`` and
    ``"wholebody"`` -> coco_wholebody133. A :class:`Layout` is returned unchanged.

    Example:
        >>> get_layout("COCO-WholeBody").name
        'coco_wholebody133'

    Raises:
        TypeError: ``name`` is neither a string nor a Layout.
        ValueError: unknown name; the message lists valid names and the closest match.
    """
    if isinstance(name, Layout):
        return name
    if not isinstance(name, str):
        raise TypeError(f"layout name: expected a str or Layout, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    known = [*_LAYOUTS, *_ALIASES]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" Did you mean {_ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise ValueError(f"unknown keypoint layout {name!r}; valid names: {', '.join(_LAYOUTS)} "
                     f"(aliases: {', '.join(_ALIASES)}).{hint}")


# ------------------------------------------------------------------------------------------------
# Conversion
# ------------------------------------------------------------------------------------------------


class _Plan(NamedTuple):
    src_index: np.ndarray          # copy keypoints[..., src_index] ...
    dst_index: np.ndarray          # ... into out[..., dst_index]
    midpoints: tuple[tuple[int, int, int], ...]   # (dst, src_a, src_b) derived points


@cache
def _plan(src: str, dst: str) -> _Plan:
    src_layout, dst_layout = _LAYOUTS[src], _LAYOUTS[dst]
    lookup = src_layout._name_to_index
    pairs, midpoints = [], []
    for d, n in enumerate(dst_layout.keypoint_names):
        if n in lookup:
            pairs.append((lookup[n], d))
        elif n in _DERIVED and all(m in lookup for m in _DERIVED[n]):
            a, b = _DERIVED[n]
            midpoints.append((d, lookup[a], lookup[b]))
    index = np.array(pairs, np.int64).reshape(-1, 2)
    return _Plan(_frozen(index[:, 0]), _frozen(index[:, 1]), tuple(midpoints))


def _float_array(value: object, name: str) -> np.ndarray:
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    return array.astype(np.result_type(array.dtype, np.float32), copy=False)


def convert(keypoints: np.ndarray, keypoint_scores: np.ndarray, src: str | Layout,
            dst: str | Layout) -> tuple[np.ndarray, np.ndarray]:
    """Re-express keypoints of layout ``src`` in layout ``dst``, point by canonical name.

    Points both layouts share are copied. A ``dst`` point that ``src`` lacks is:

    * ``"neck"``: the midpoint of the shoulders; ``"hip"``: the midpoint of the hips, each with
      the lower of the two source scores (so a missing shoulder makes the neck missing too);
    * anything else, including ``"head"`` (top of the head, which COCO-17 and COCO-WholeBody do
      not annotate and nothing else locates): position ``(0, 0)`` with score 0.

    So ``halpe136 -> coco_wholebody133 -> halpe136`` returns every point except head, neck and
    hip unchanged, with neck and hip rebuilt from the shoulders and hips and head zeroed.

    Args:
        keypoints: ``(..., K_src, 2)`` positions.
        keypoint_scores: ``(..., K_src)`` confidences (or visibilities), same leading shape.
        src: the layout (or its name) of the input.
        dst: the layout (or its name) wanted.

    Returns:
        ``(..., K_dst, 2)`` positions and ``(..., K_dst)`` scores, new arrays of a float dtype at
        least as wide as float32 (float64 input stays float64).

    Example:
        >>> kp, sc = convert(np.zeros((2, 17, 2)), np.ones((2, 17)), "coco17", "halpe26")
        >>> sc[0, 17:20].tolist()   # head missing, neck and hip derived
        [0.0, 1.0, 1.0]

    Raises:
        TypeError: non-numeric input.
        ValueError: unknown layout names, or shapes that do not fit ``src``.
    """
    src_layout, dst_layout = get_layout(src), get_layout(dst)
    keypoints = _float_array(keypoints, "keypoints")
    keypoint_scores = _float_array(keypoint_scores, "keypoint_scores")
    k = src_layout.num_keypoints
    if keypoints.ndim < 2 or keypoints.shape[-2:] != (k, 2):
        raise ValueError(f"keypoints: expected shape (..., {k}, 2) for layout "
                         f"{src_layout.name!r}, got {keypoints.shape}")
    if keypoint_scores.shape != keypoints.shape[:-1]:
        raise ValueError(f"keypoint_scores: expected shape {keypoints.shape[:-1]} to match "
                         f"keypoints, got {keypoint_scores.shape}")
    lead = keypoints.shape[:-2]
    out_keypoints = np.zeros((*lead, dst_layout.num_keypoints, 2), keypoints.dtype)
    out_scores = np.zeros((*lead, dst_layout.num_keypoints), keypoint_scores.dtype)
    plan = _plan(src_layout.name, dst_layout.name)
    out_keypoints[..., plan.dst_index, :] = keypoints[..., plan.src_index, :]
    out_scores[..., plan.dst_index] = keypoint_scores[..., plan.src_index]
    for d, a, b in plan.midpoints:
        out_keypoints[..., d, :] = (keypoints[..., a, :] + keypoints[..., b, :]) / 2
        out_scores[..., d] = np.minimum(keypoint_scores[..., a], keypoint_scores[..., b])
    return out_keypoints, out_scores


def convert_poses(poses: Poses, dst: str | Layout) -> Poses:
    """``poses`` in layout ``dst`` (see :func:`convert` for how missing points are filled).

    Boxes, box scores, person scores and track ids are carried over unchanged: the person
    score describes the estimate, not the layout it is written in.

    Example:
        >>> poses = Poses(np.zeros((1, 136, 2)), np.ones((1, 136)), np.zeros((1, 4)), np.ones(1))
        >>> convert_poses(poses, "coco17").keypoints.shape
        (1, 17, 2)
    """
    dst_layout = get_layout(dst)
    keypoints, keypoint_scores = convert(poses.keypoints, poses.keypoint_scores, poses.layout,
                                         dst_layout)
    # every other field (boxes, scores, track ids, ...) is carried over as a copy
    extra = {} if poses.keypoints_3d is None else {
        "keypoints_3d": convert_3d(poses.keypoints_3d, poses.layout, dst_layout)}
    return replace(poses[np.arange(len(poses))], keypoints=keypoints,
                   keypoint_scores=keypoint_scores, layout=dst_layout.name, **extra)


def convert_3d(points: np.ndarray, src: str | Layout, dst: str | Layout) -> np.ndarray:
    """``(..., K_src, 3)`` 3D keypoints (NaN = absent) in layout ``dst``, as :func:`convert`
    maps 2D ones; points without a source, or with an absent one, are NaN."""
    points = np.asarray(points, np.float32)
    present = np.isfinite(points).all(-1)
    safe = np.where(present[..., None], points, 0.0)
    xy, kept = convert(safe[..., :2], present.astype(np.float32), src, dst)
    z, _ = convert(np.stack([safe[..., 2], np.zeros_like(safe[..., 2])], -1),
                   present.astype(np.float32), src, dst)
    out = np.concatenate([xy, z[..., :1]], -1)
    out[kept == 0] = np.nan
    return out
