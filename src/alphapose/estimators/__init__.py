"""Pose estimators: ``(image, Detections) -> Poses``.

An estimator is any object with ``layout: str`` and
``__call__(image: np.ndarray, detections: Detections) -> Poses`` (top-down: one pose per box).
The embedded default is :class:`alphapose.estimators.blaze.BlazeWholeBody`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from alphapose.structures import Detections, Poses

__all__ = ["PoseEstimator"]


class PoseEstimator(Protocol):
    layout: str

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses: ...
