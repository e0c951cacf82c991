"""The contracts between the pipeline's stages, in one place.

A frame goes ``Detector -> PoseEstimator -> pose NMS -> Tracker`` (:mod:`alphapose.pipeline`).
Each stage is a :class:`typing.Protocol`: any object with these methods works, no base class.
Some capabilities are optional; :func:`describe_detector` and :func:`describe_estimator` read
them once, when a pipeline is built, into small records the pipeline then follows (the
pipeline never asks an object what it can do in the middle of a frame).

Detector
    ``detector(image) -> Detections``. Optional: :class:`BatchDetector` (``detect(images)``,
    one network call per batch; the concurrent run gathers ``detbatch`` frames for it) and
    :class:`NamedDetector` (reads detections by the frame's file name, e.g. ``--detfile``).

PoseEstimator
    ``estimator(image, detections) -> Poses`` and ``layout``. Optional:

    * :class:`StagedEstimator`: splits a frame in two so the concurrent run can start the next
      frame early: ``find_people`` (what the next frame depends on: the embedded default's
      bodies, a network's crops) and ``start_parts`` (the rest: hands and face, or the batched
      network call), whose result ``finish()`` gives the poses.
    * following people in video (``supports_tracking = True``): ``tracked_people(people)``
      gives what the next frame of the same video starts from (``people``: ``find_people``'s
      result for a staged estimator, else the frame's Poses), and ``find_people`` /
      ``__call__`` take it back as ``tracked=``. Whatever frame-to-frame state an estimator
      needs lives in that object; the core containers carry none. Optional:
      ``same_people(before, after)`` says whether two such objects hold the same people (the
      pipeline then spaces out detection frames while they find nobody new).
    * ``replicate(num_threads)``: a copy with its own models, one per worker thread.
    * declarations: ``regression`` (scores from integral regression: the official whole-body
      pose-NMS thresholds), ``person_score_parts`` (the parts the person score is taken over)
      and ``extra_outputs`` (``"world"``, ``"masks"``: per-person outputs it gives).

Tracker
    ``tracker.update(frame, poses) -> poses`` with ``track_ids``; keypoint smoothers have the
    same shape and run right after the tracker. Optional: ``reset()`` (:class:`Resettable`),
    called when a new video starts (new identities).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alphapose.structures import Detections, Frame, Poses

__all__ = [
    "BatchDetector",
    "Detector",
    "DetectorInfo",
    "EstimatorInfo",
    "NamedDetector",
    "PoseEstimator",
    "Resettable",
    "StagedEstimator",
    "Tracker",
    "TrackingEstimator",
    "describe_detector",
    "describe_estimator",
]


@runtime_checkable
class Detector(Protocol):
    """Person boxes of one BGR image."""

    def __call__(self, image: np.ndarray) -> Detections: ...


@runtime_checkable
class BatchDetector(Protocol):
    """A detector that runs a list of images in one network call (YOLOX, YOLOv3)."""

    batches_images: bool

    def __call__(self, image: np.ndarray) -> Detections: ...

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]: ...


@runtime_checkable
class NamedDetector(Protocol):
    """A detector that reads each frame's detections by its file name (``--detfile``)."""

    uses_frame_name: bool

    def __call__(self, image: np.ndarray, name: str) -> Detections: ...


@runtime_checkable
class PoseEstimator(Protocol):
    """Top-down pose estimation: one pose per detection (or fewer: improbable people dropped)."""

    layout: str

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses: ...


@runtime_checkable
class TrackingEstimator(Protocol):
    """An estimator that re-estimates the people of the previous video frame without the
    detector (``supports_tracking = True``)."""

    layout: str
    supports_tracking: bool

    def __call__(self, image: np.ndarray, detections: Detections,
                 tracked: Any = None) -> Poses: ...

    def tracked_people(self, people: Any) -> Any: ...


@runtime_checkable
class StagedEstimator(Protocol):
    """An estimator whose frame work comes in two steps (see the module docstring).

    ``tasks`` is where the estimator's tasks run (:class:`alphapose.tasks.WorkerPool`; None:
    in line)."""

    layout: str

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses: ...

    def find_people(self, image: np.ndarray, detections: Detections, tracked: Any,
                    tasks: Any) -> Any: ...

    def tracked_people(self, people: Any) -> Any: ...

    def start_parts(self, image: np.ndarray, people: Any,
                    tasks: Any) -> Callable[[], Poses]: ...


@runtime_checkable
class Tracker(Protocol):
    """Anything that gives the people of consecutive frames identities (and smoothers, which
    have the same shape)."""

    def update(self, frame: Frame, poses: Poses) -> Poses:
        """Returns ``poses`` with ``track_ids`` (>= 0 for tracked people), in input order."""
        ...


@runtime_checkable
class Resettable(Protocol):
    """A stage with per-video state that a new video clears (trackers, smoothers)."""

    def reset(self) -> None: ...


@dataclass(frozen=True)
class DetectorInfo:
    """What the pipeline may do with a detector.

    Attributes:
        batches: ``detect(images)`` runs a batch in one call (:class:`BatchDetector`).
        by_name: it reads detections by frame name (:class:`NamedDetector`); never batched.
    """

    batches: bool
    by_name: bool


@dataclass(frozen=True)
class EstimatorInfo:
    """What the pipeline may do with an estimator.

    Attributes:
        layout: its keypoint layout (None: not declared; a plain function may estimate, its
            Poses carry the layout).
        staged: it is a :class:`StagedEstimator`.
        tracking: it follows people from frame to frame (:class:`TrackingEstimator`).
        compares_people: a tracking estimator with ``same_people(before, after)``.
        replicable: ``replicate(num_threads)`` gives worker copies.
        single_threaded: its models already run on one thread each (the first worker may use
            the estimator itself instead of a copy).
        regression: its scores come from integral regression (official pose-NMS choice;
            default True: the embedded models' scores are probabilities like those).
        person_score_parts: the parts the person score is taken over (None: all keypoints).
        extra_outputs: per-person outputs beyond keypoints (``"world"``, ``"masks"``).
    """

    layout: str | None
    staged: bool
    tracking: bool
    replicable: bool
    single_threaded: bool
    regression: bool
    person_score_parts: tuple[str, ...] | None
    extra_outputs: frozenset[str]
    compares_people: bool = False


def describe_detector(detector: Any) -> DetectorInfo:
    """The capabilities of ``detector``, read once.

    Raises:
        TypeError: ``detector`` is not callable.
    """
    if not callable(detector):
        raise TypeError(f"detector: expected a callable image -> Detections, got "
                        f"{type(detector).__name__}")
    by_name = isinstance(detector, NamedDetector) and bool(detector.uses_frame_name)
    batches = (isinstance(detector, BatchDetector) and bool(detector.batches_images)
               and not by_name)
    return DetectorInfo(batches=batches, by_name=by_name)


def describe_estimator(estimator: Any) -> EstimatorInfo:
    """The capabilities and declarations of ``estimator``, read once (absent declarations take
    the defaults named in :class:`EstimatorInfo`).

    Raises:
        TypeError: ``estimator`` is not callable.
    """
    if not callable(estimator):
        raise TypeError(f"estimator: expected a callable (image, detections) -> Poses, got "
                        f"{type(estimator).__name__}")
    staged = isinstance(estimator, StagedEstimator)
    tracking = (isinstance(estimator, TrackingEstimator)
                and bool(estimator.supports_tracking))
    replicate = getattr(estimator, "replicate", None)
    parts = getattr(estimator, "person_score_parts", None)
    return EstimatorInfo(
        layout=getattr(estimator, "layout", None),
        staged=staged,
        tracking=tracking,
        replicable=callable(replicate),
        single_threaded=getattr(estimator, "num_threads", None) == 1,
        regression=bool(getattr(estimator, "regression", True)),
        person_score_parts=None if parts is None else tuple(parts),
        extra_outputs=frozenset(getattr(estimator, "extra_outputs", ())),
        compares_people=tracking and callable(getattr(estimator, "same_people", None)),
    )
