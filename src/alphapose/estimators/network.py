"""Top-down pose estimation with any network + codec + backend (FastPose & co.).

Per person box, as the official test-time pipeline does
(``alphapose/utils/presets/simple_transform.py``, ``alphapose/utils/bbox.py``,
``alphapose/utils/transforms.py``):

1. ``box_to_center_scale``: the box is widened or heightened to the input aspect ratio and
   enlarged by 1.25;
2. the crop: an isotropic scale ``s = input_w / scale_w`` mapping the box centre to
   ``(input_w / 2, input_h / 2)``, ``x_in = (x - cx) * s + input_w / 2`` (no half-pixel terms),
   bilinear, black outside the image;
3. RGB, divided by 255, minus the per-channel mean (official: R 0.406, G 0.457, B 0.480), divided
   by ``std`` (official: no division, ``std = 1``);
4. the backend's raw maps, optionally with the official flip test
   (:func:`alphapose.codecs.flip_average`), decoded by the codec into heatmap pixels;
5. back to the image with the official inverse, ``x = cx + (x_hm - w_hm / 2) * scale_w / w_hm``
   (same for ``y``, also with ``scale_w / w_hm``): heatmap cell ``j`` sits at input pixel
   ``stride * j``.

Deviations, on purpose: the official code divides by 255 only when the crop's maximum exceeds 1
(an all-black or 0/1 crop is not divided; a difference of at most 1/255 on such crops), and a box
of zero size gets a 1-pixel crop here instead of a division by zero.

Keypoint scores are the codec's raw scores, as in the official output: the maximum of the sigmoid
map for integral models (in ``(0, 1)``), the raw heatmap maximum for heatmap models (it can lie
slightly outside ``[0, 1]``; it is not clipped so that pose NMS and person scores match).

Example:
    >>> backend = OnnxBackend("fast_res50_256x192.onnx")                      # doctest: +SKIP
    >>> estimator = NetworkPoseEstimator(backend, HeatmapCodec(), "coco17")   # doctest: +SKIP
    >>> poses = estimator(image_bgr, detections)                              # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from alphapose.codecs import Codec, flip_average, flip_crops
from alphapose.runtime.base import Backend
from alphapose.skeletons import Layout, get_layout
from alphapose.structures import Detections, Poses, check_image
from alphapose.tasks import Batcher
from alphapose.transforms import (
    RotatedRect,
    apply_affine,
    box_to_center_scale,
    warp_crop,
)

__all__ = ["OFFICIAL_MEAN", "NetworkPoseEstimator", "crop_people", "heatmap_to_image"]

#: Per-channel means the official models subtract from RGB / 255 crops (R, G, B).
OFFICIAL_MEAN: tuple[float, float, float] = (0.406, 0.457, 0.480)


def crop_people(image_bgr: np.ndarray, xyxy: np.ndarray, input_size: tuple[int, int] = (256, 192),
                mean: Sequence[float] = OFFICIAL_MEAN, std: Sequence[float] = (1.0, 1.0, 1.0),
                scale_mult: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """The official network input for every box.

    Args:
        image_bgr: ``(H, W, 3)`` uint8 BGR image.
        xyxy: ``(N, 4)`` person boxes in image pixels.
        input_size: ``(input_h, input_w)`` of the network.
        mean: per-channel mean subtracted from RGB / 255 (R, G, B).
        std: per-channel divisor applied after the mean.
        scale_mult: box enlargement (official 1.25).

    Returns:
        ``(crops (N, 3, input_h, input_w) float32 RGB, img_from_crop (N, 2, 3) float64)``; each
        matrix maps input-crop pixels back to image pixels.
    """
    check_image(image_bgr, "image_bgr")
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    input_h, input_w = (int(v) for v in input_size)
    mean_arr = np.asarray(mean, np.float32).reshape(3, 1, 1)
    std_arr = np.asarray(std, np.float32).reshape(3, 1, 1)
    crops = np.empty((len(xyxy), 3, input_h, input_w), np.float32)
    matrices = np.empty((len(xyxy), 2, 3), np.float64)
    for i, box in enumerate(xyxy):
        center, scale = box_to_center_scale(box, input_w / input_h, scale_mult)
        scale_w = max(float(scale[0]), 1.0)
        s = input_w / scale_w
        # warp_crop maps the rect's extent onto pixel edges (a -0.5 term); moving the centre by
        # half an input pixel gives the official x_in = (x - cx) * s + input_w / 2 exactly
        rect = RotatedRect(float(center[0]) - 0.5 / s, float(center[1]) - 0.5 / s,
                           scale_w, scale_w * input_h / input_w)
        crop, matrices[i] = warp_crop(image_bgr, rect, input_w, input_h)
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        crops[i] = (rgb.transpose(2, 0, 1) - mean_arr) / std_arr
    return crops, matrices


def heatmap_to_image(coords: np.ndarray, img_from_crop: np.ndarray,
                     heatmap_size: tuple[int, int], input_size: tuple[int, int]) -> np.ndarray:
    """Map decoded heatmap coordinates to image pixels (official inverse).

    Heatmap cell ``j`` is input pixel ``j * input_w / w_hm`` (no half-pixel term); with the crop of
    :func:`crop_people` this equals the official ``transform_preds`` whenever both axes have the
    same stride (every official model: 4).

    Args:
        coords: ``(N, K, 2)`` ``(x, y)`` in heatmap pixels.
        img_from_crop: ``(N, 2, 3)`` matrices from :func:`crop_people`.
        heatmap_size: ``(h_hm, w_hm)``.
        input_size: ``(input_h, input_w)``.

    Returns:
        ``(N, K, 2)`` float32 image pixels.
    """
    coords = np.asarray(coords, np.float64)
    stride = np.array([input_size[1] / heatmap_size[1], input_size[0] / heatmap_size[0]])
    crop_points = coords * stride
    out = np.empty(coords.shape, np.float32)
    for i in range(coords.shape[0]):
        out[i] = apply_affine(crop_points[i], img_from_crop[i])
    return out


class NetworkPoseEstimator:
    """A pose network behind a backend, with the official crop, flip test and decoding.

    Obeys :class:`alphapose.estimators.PoseEstimator`: one pose per detection, ``xyxy`` and
    ``box_scores`` copied from the detections.

    Args:
        backend: ``crops (N, 3, H, W) -> raw maps (N, C, h, w)`` (``C >= K``; only the first
            ``K`` channels are used, as the official writer does for e.g. the 33-channel COCO+MPII
            model).
        codec: decodes the raw maps.
        layout: keypoint layout name or object (its ``flip_index`` drives the flip test).
        input_size: ``(input_h, input_w)``.
        mean: per-channel mean subtracted from RGB / 255 (R, G, B).
        std: per-channel divisor after the mean (official: none).
        flip: run the official flip test (twice the network work).
        flip_shift: apply the official one-column shift to the mirrored output.
        batch_size: network inputs per backend call (with ``flip`` half of them are mirrors, as
            the official ``posebatch``).
        scale_mult: box enlargement (official 1.25).
    """

    def __init__(self, backend: Backend, codec: Codec, layout: str | Layout,
                 input_size: tuple[int, int] = (256, 192), mean: Sequence[float] = OFFICIAL_MEAN,
                 std: Sequence[float] = (1.0, 1.0, 1.0), flip: bool = False,
                 flip_shift: bool = True, batch_size: int = 8, scale_mult: float = 1.25) -> None:
        if not callable(backend):
            raise TypeError(f"backend: expected a callable backend, got {type(backend).__name__}")
        if not hasattr(codec, "decode"):
            raise TypeError(f"codec: expected a codec with decode(), got {type(codec).__name__}")
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError(f"input_size: expected (H, W) with positive sides, got {input_size}")
        if batch_size < 1 or (flip and batch_size < 2):
            raise ValueError(f"batch_size: expected >= 1 (>= 2 with flip), got {batch_size}")
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean/std: expected 3 values each with std > 0, got {mean}, {std}")
        if scale_mult <= 0:
            raise ValueError(f"scale_mult: expected > 0, got {scale_mult}")
        self.backend = backend
        self.codec = codec
        self.keypoint_layout = get_layout(layout)
        self.layout = self.keypoint_layout.name
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.flip = flip
        self.flip_shift = flip_shift
        self.batch_size = batch_size
        self.scale_mult = scale_mult
        self._crop_batcher: Batcher | None = None

    @property
    def regression(self) -> bool:
        """Whether the scores come from integral regression (also for Combined models), which
        selects the official whole-body pose-NMS thresholds (official: ``LOSS_TYPE != MSELoss``)."""
        return self.codec.name != "heatmap"

    def raw_maps(self, crops: np.ndarray) -> np.ndarray:
        """The (flip-averaged) raw maps of the first ``K`` channels for preprocessed crops.

        Args:
            crops: ``(N, 3, H, W)`` float32 from :func:`crop_people`.

        Returns:
            ``(N, K, h, w)`` float32.
        """
        k = self.keypoint_layout.num_keypoints
        per_call = self.batch_size // 2 if self.flip else self.batch_size
        chunks = []
        for start in range(0, len(crops), per_call):
            part = crops[start:start + per_call]
            if self.flip:
                both = self.backend(np.concatenate([part, flip_crops(part)]))
                raw = self._first_channels(both, k)
                raw = flip_average(raw[:len(part)], raw[len(part):], self.keypoint_layout,
                                   self.flip_shift)
            else:
                raw = self._first_channels(self.backend(part), k)
            chunks.append(raw)
        return np.concatenate(chunks)

    def _first_channels(self, raw: np.ndarray, k: int) -> np.ndarray:
        raw = np.asarray(raw, np.float32)
        if raw.ndim != 4 or raw.shape[1] < k:
            raise ValueError(f"backend output: expected (N, >={k}, h, w) maps for layout "
                             f"{self.layout!r}, got shape {raw.shape}")
        return raw[:, :k]

    # -- staged use by the pipeline: crops in the estimator stage, network calls batched across
    # -- frames, decoding in the finisher stage (see alphapose.pipeline.Pipeline.staged)
    def find_people(self, image: np.ndarray, detections: Detections, tracked: Any = None,
                    tasks: Any = None) -> _Crops:
        """The crops of one frame's detections (nothing runs yet)."""
        if not isinstance(detections, Detections):
            raise TypeError(f"detections: expected Detections, got {type(detections).__name__}")
        if len(detections) == 0:
            return _Crops(detections, None, None)
        crops, img_from_crop = crop_people(image, detections.xyxy, self.input_size, self.mean,
                                           self.std, self.scale_mult)
        return _Crops(detections, crops, img_from_crop)

    @staticmethod
    def tracked_people(people: _Crops) -> None:
        """Nothing: this estimator does not follow people from frame to frame."""

    def start_parts(self, image: np.ndarray, people: _Crops,
                    tasks: Any = None) -> Callable[[], Poses]:
        """Queue the crops for the network; calls gather ``batch_size`` crops across frames
        (:class:`~alphapose.tasks.Batcher`). The returned function gives the poses."""
        k = self.keypoint_layout.num_keypoints
        if people.crops is None:
            return lambda: Poses.empty(k, self.layout)
        batcher = self._batcher()
        future = batcher.add(people.crops)

        def finish() -> Poses:
            return self._decode(batcher.result(future), people.img_from_crop, people.detections)

        return finish

    def _batcher(self) -> Batcher:
        per_call = self.batch_size // 2 if self.flip else self.batch_size
        with _BATCHER_LOCK:
            if self._crop_batcher is None or self._crop_batcher.size != per_call:
                self._crop_batcher = Batcher(self.raw_maps, per_call)
            return self._crop_batcher

    def _decode(self, raw: np.ndarray, img_from_crop: np.ndarray,
                detections: Detections) -> Poses:
        coords, scores = self.codec.decode(raw)
        keypoints = heatmap_to_image(coords, img_from_crop, raw.shape[2:], self.input_size)
        return Poses(keypoints, scores, detections.xyxy.copy(), detections.scores.copy(),
                     layout=self.layout)

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses:
        """One pose per detection.

        Args:
            image: ``(H, W, 3)`` uint8 BGR image.
            detections: the person boxes.

        Returns:
            :class:`~alphapose.structures.Poses` in :attr:`layout`, keypoints in image pixels.
        """
        people = self.find_people(image, detections)
        if people.crops is None:
            return Poses.empty(self.keypoint_layout.num_keypoints, self.layout)
        return self._decode(self.raw_maps(people.crops), people.img_from_crop, detections)


@dataclass
class _Crops:
    """One frame's detections and their network inputs (None when there are none)."""

    detections: Detections
    crops: np.ndarray | None
    img_from_crop: np.ndarray | None


_BATCHER_LOCK = threading.Lock()
