"""Pose estimators: ``(image, Detections) -> Poses``.

The contract (:class:`~alphapose.stages.PoseEstimator` and its optional capabilities) is in
:mod:`alphapose.stages`. The embedded default is
:class:`alphapose.estimators.blaze.BlazeWholeBody`; official networks run through
:class:`alphapose.estimators.network.NetworkEstimator`.
"""

from __future__ import annotations

from alphapose.stages import PoseEstimator

__all__ = ["PoseEstimator"]
