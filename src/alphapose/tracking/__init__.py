"""Pose tracking: identities for the people of a video.

* :class:`MSIMTracker` (online, paper Sec. 4.2): Kalman prediction, then appearance (stage 1), box
  overlap plus pose shape (stage 2), the same with relaxed thresholds (stage 3), then new ids. Its
  default appearance cue is the training-free :class:`PoseGuidedDescriptor`; the PGA re-ID head in
  torch is :mod:`alphapose.tracking.reid_torch` (imported only on request).
* :func:`poseflow_track` (offline, PoseFlow): identities for a finished results file.

Every tracker obeys :class:`~alphapose.stages.Tracker`: ``update(frame, poses) -> poses`` with
``track_ids`` set.

Example:
    >>> from alphapose.pipeline import Pipeline
    >>> from alphapose.tracking import make_tracker
    >>> pipeline = Pipeline(tracker=make_tracker("msim"))            # doctest: +SKIP
    >>> for frame, poses in pipeline.run(source):                    # doctest: +SKIP
    ...     print(poses.track_ids)
"""

from __future__ import annotations

from alphapose.stages import Tracker
from alphapose.tracking.msim import MSIMConfig, MSIMTracker, TrackState
from alphapose.tracking.poseflow import (
    PoseFlowConfig,
    PoseFlowTracker,
    poseflow_track,
    poseflow_track_file,
)
from alphapose.tracking.reid import (
    DescriptorConfig,
    Embeddings,
    PoseGuidedDescriptor,
    appearance_distance,
)

__all__ = [
    "TRACKERS",
    "DescriptorConfig",
    "Embeddings",
    "MSIMConfig",
    "MSIMTracker",
    "PoseFlowConfig",
    "PoseFlowTracker",
    "PoseGuidedDescriptor",
    "TrackState",
    "Tracker",
    "appearance_distance",
    "make_tracker",
    "poseflow_track",
    "poseflow_track_file",
]


#: Tracker names :func:`make_tracker` accepts.
TRACKERS = ("msim", "poseflow", "none")


def make_tracker(name: str, config: MSIMConfig | None = None) -> Tracker | None:
    """A tracker by name: ``"msim"`` -> :class:`MSIMTracker`, ``"poseflow"`` ->
    :class:`PoseFlowTracker` (online PoseFlow), ``"none"`` -> ``None``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    if name == "none":
        return None
    if name == "msim":
        return MSIMTracker(config or MSIMConfig())
    if name == "poseflow":
        return PoseFlowTracker()
    raise ValueError(f"tracker {name!r} is not one of {', '.join(TRACKERS)}")
