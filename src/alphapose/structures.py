"""Typed containers passed between pipeline stages.

Conventions (stated once, used everywhere):

* Images are ``uint8`` numpy arrays in BGR order (OpenCV), shape ``(H, W, 3)``.
* Points are ``float32`` ``(x, y)`` in image pixels; the centre of pixel ``(i, j)`` sits at the
  integer coordinate ``(x=j, y=i)``.
* Boxes are ``xyxy`` ``float32``: ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``.

Every container validates shapes in ``__post_init__`` with expected-versus-actual messages,
has ``len`` and supports indexing by an integer array, slice or boolean mask, which always
returns the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

__all__ = ["Detections", "Frame", "ImageError", "Poses", "check_image", "estimated",
           "official_person_scores"]


class ImageError(TypeError, ValueError):
    """An argument is not a usable image: both a ``TypeError`` (not a uint8 array) and a
    ``ValueError`` (wrong shape), so callers catching either keep working."""


def check_image(image: Any, name: str = "image", channels: tuple[int, ...] = (3,)) -> None:
    """Raise :class:`ImageError` unless ``image`` is a non-empty ``(H, W, C)`` uint8 array.

    The one image check of the package: every stage that takes an image calls it, so a bad
    image gives the same one-line message everywhere, naming the argument.

    Args:
        image: the value to check.
        name: the argument's name, as the message shows it.
        channels: the accepted ``C`` (3 for BGR; the person detector also takes 4, BGRA).

    Example:
        ``check_image(np.zeros((2, 2), np.uint8))`` raises ``image: expected a uint8 BGR array
        of shape (H, W, 3), got uint8 array of shape (2, 2)``.
    """
    if (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] in channels and image.shape[0] > 0 and image.shape[1] > 0):
        return
    wanted = " or ".join(f"(H, W, {c})" for c in channels)
    got = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
           else "None" if image is None else type(image).__name__)
    raise ImageError(f"{name}: expected a uint8 BGR array of shape {wanted}, got {got}")


def _as_array(value: Any, dtype: type, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=dtype)
    if array.size == 0 and array.ndim != len(shape):
        array = array.reshape(tuple(0 if s is None else s for s in shape))
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        wanted = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {wanted}, got {array.shape}")
    return array


@dataclass
class Frame:
    """One image of a source.

    Attributes:
        image: ``(H, W, 3)`` uint8 BGR pixels.
        index: 0-based position of the frame in its source.
        name: the name results are filed under: the image file name for images,
            ``"<index>.jpg"`` for video and webcam frames (as the official demo does).
        path: the file the frame came from, ``None`` for webcams and streams.
        timestamp: seconds since the start of the source (0 for still images).
        source: a human-readable name of the source (file, folder, ``webcam:0``).
    """

    image: np.ndarray
    index: int
    name: str
    path: str | None = None
    timestamp: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        check_image(self.image, "Frame.image")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


class _Indexable:
    """Shared ``len`` and indexing for containers whose array fields share a first axis."""

    def _arrays(self) -> dict[str, np.ndarray | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                if isinstance(getattr(self, f.name), np.ndarray) or getattr(self, f.name) is None}

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])  # type: ignore[attr-defined]

    def __getitem__(self, index: int | slice | np.ndarray | list[int]):
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        changes = {name: (None if array is None else array[index])
                   for name, array in self._arrays().items()}
        return replace(self, **changes)  # type: ignore[type-var]


@dataclass
class Detections(_Indexable):
    """Person boxes found in one image.

    Attributes:
        xyxy: ``(N, 4)`` boxes in image pixels.
        scores: ``(N,)`` detector confidences in [0, 1].
        keypoints: optional ``(N, P, 2)`` auxiliary points a detector predicts with each box
            (the embedded detector gives hip centre, body-circle point, shoulder centre and
            upper-body circle point, used to place a rotated person crop).
    """

    xyxy: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xyxy = _as_array(self.xyxy, np.float32, "Detections.xyxy", (None, 4))
        n = self.xyxy.shape[0]
        self.scores = _as_array(self.scores, np.float32, "Detections.scores", (n,))
        if self.keypoints is not None:
            self.keypoints = _as_array(self.keypoints, np.float32, "Detections.keypoints",
                                       (n, None, 2))

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    @property
    def area(self) -> np.ndarray:
        """``(N,)`` box areas in square pixels."""
        wh = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return wh[:, 0] * wh[:, 1]


@dataclass
class Poses(_Indexable):
    """People found in one image, in one keypoint layout.

    A keypoint that was not estimated (a part the estimator skipped, a point a layout conversion
    has no source for) has score exactly 0 and position ``(0, 0)``; :func:`estimated` is the one
    test for it. (A network's heatmap maximum may be negative: that keypoint was still
    estimated.)

    Attributes:
        keypoints: ``(N, K, 2)`` keypoint positions in image pixels.
        keypoint_scores: ``(N, K)`` keypoint confidences in [0, 1]; 0 = not estimated.
        xyxy: ``(N, 4)`` the person box each pose was estimated from.
        box_scores: ``(N,)`` detector confidence of that box.
        scores: ``(N,)`` person score; by default the official one,
            ``mean(keypoint_scores) + box_score + 1.25 * max(keypoint_scores)``.
        layout: name of the keypoint layout (see :mod:`alphapose.skeletons`).
        track_ids: ``(N,)`` int64 identities, ``-1`` where the person is not tracked.
        keypoints_3d: optional ``(N, K, 3)`` 3D keypoints in metres, hip-centred, ``x`` / ``y``
            along the image's columns / rows, ``z`` away from the camera, in the order of
            ``keypoints``; NaN where the estimator has no 3D point (``np.isfinite(...).all(-1)``
            is the one test).
        masks: optional ``(N,)`` object array: each person's mask as a COCO RLE dict
            ``{"size": [H, W], "counts": str}`` (:mod:`alphapose.masks`).
    """

    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    xyxy: np.ndarray
    box_scores: np.ndarray
    scores: np.ndarray | None = None
    layout: str = "halpe136"
    track_ids: np.ndarray | None = None
    keypoints_3d: np.ndarray | None = None
    masks: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.keypoints = _as_array(self.keypoints, np.float32, "Poses.keypoints", (None, None, 2))
        n, k = self.keypoints.shape[:2]
        self.keypoint_scores = _as_array(self.keypoint_scores, np.float32,
                                         "Poses.keypoint_scores", (n, k))
        self.xyxy = _as_array(self.xyxy, np.float32, "Poses.xyxy", (n, 4))
        self.box_scores = _as_array(self.box_scores, np.float32, "Poses.box_scores", (n,))
        if self.scores is None:
            self.scores = official_person_scores(self.keypoint_scores, self.box_scores)
        self.scores = _as_array(self.scores, np.float32, "Poses.scores", (n,))
        if self.track_ids is None:
            self.track_ids = np.full((n,), -1, np.int64)
        self.track_ids = _as_array(self.track_ids, np.int64, "Poses.track_ids", (n,))
        if self.keypoints_3d is not None:
            self.keypoints_3d = _as_array(self.keypoints_3d, np.float32, "Poses.keypoints_3d",
                                          (n, k, 3))
        if self.masks is not None:
            self.masks = _as_array(self.masks, object, "Poses.masks", (n,))

    @classmethod
    def empty(cls, num_keypoints: int, layout: str) -> Poses:
        return cls(np.zeros((0, num_keypoints, 2), np.float32),
                   np.zeros((0, num_keypoints), np.float32),
                   np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), layout=layout)

    @property
    def num_keypoints(self) -> int:
        return int(self.keypoints.shape[1])

    def concat(self, other: Poses) -> Poses:
        """Both sets of people in one container (layouts must match)."""
        if other.layout != self.layout:
            raise ValueError(f"cannot concatenate poses of layout {self.layout!r} and "
                             f"{other.layout!r}; convert one first")
        return Poses(np.concatenate([self.keypoints, other.keypoints]),
                     np.concatenate([self.keypoint_scores, other.keypoint_scores]),
                     np.concatenate([self.xyxy, other.xyxy]),
                     np.concatenate([self.box_scores, other.box_scores]),
                     np.concatenate([self.scores, other.scores]),  # type: ignore[list-item]
                     self.layout,
                     np.concatenate([self.track_ids, other.track_ids]),  # type: ignore[list-item]
                     None if self.keypoints_3d is None or other.keypoints_3d is None
                     else np.concatenate([self.keypoints_3d, other.keypoints_3d]),
                     None if self.masks is None or other.masks is None
                     else np.concatenate([self.masks, other.masks]))


def estimated(keypoint_scores: np.ndarray) -> np.ndarray:
    """Which keypoints were estimated: score != 0 (exactly 0 marks one nobody estimated).

    Args:
        keypoint_scores: ``(..., K)`` keypoint scores.

    Returns:
        bool array of the same shape.

    Example:
        >>> estimated(np.array([[0.9, 0.0, 1e-6, -0.2]])).tolist()
        [[True, False, True, True]]
    """
    return np.asarray(keypoint_scores) != 0


def official_person_scores(keypoint_scores: np.ndarray, box_scores: np.ndarray) -> np.ndarray:
    """The official AlphaPose person score: ``mean(kp) + box + 1.25 * max(kp)``.

    Args:
        keypoint_scores: ``(N, K)``.
        box_scores: ``(N,)``.

    Returns:
        ``(N,)`` float32 scores (not in [0, 1]; typically 0.5-3.5).
    """
    keypoint_scores = np.asarray(keypoint_scores, np.float32)
    if keypoint_scores.shape[0] == 0 or keypoint_scores.shape[1] == 0:
        return np.zeros((keypoint_scores.shape[0],), np.float32)
    return (keypoint_scores.mean(1) + np.asarray(box_scores, np.float32)
            + 1.25 * keypoint_scores.max(1)).astype(np.float32)
