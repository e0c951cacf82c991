"""The top-down pipeline: frames -> person detection -> pose estimation -> pose NMS -> (tracking).

``Pipeline.predict(image)`` handles one image; ``Pipeline.run(frames)`` is a generator that yields
``(frame, poses)`` per frame as soon as it is done and never accumulates results.

:meth:`Pipeline.run` runs its stages concurrently, each in its own thread, joined by bounded
queues of ``qsize`` items (see :mod:`alphapose.concurrent`)::

    reader (decode) -> detector (frames that will need it) -> estimator (what the next frame
        depends on) -> finisher (the rest, pose NMS, tracker) -> the caller's loop (writing)

with a staged estimator's tasks (the embedded default: one per body, hand and face) on
``workers`` threads. Decoding and detecting frame t+1, the hands and face of frame t and
writing frame t-1 overlap the bodies of frame t+1. With ``detect_every > 1`` the bodies of
frame t are estimated from the people of frame t-1: the people the estimator kept (distinct
bodies), not the output after pose NMS, so the next frame need not wait for hands, face and
pose NMS. ``sp=True`` runs everything in the calling thread (debugging, and the baseline of
``alphapose bench``). Both give the same results, in input order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from alphapose.structures import Detections, Frame, Poses, check_image, official_person_scores

__all__ = ["Detector", "Pipeline", "StageTimes", "Tracker", "available_cores"]


class Detector(Protocol):
    def __call__(self, image: np.ndarray) -> Detections: ...


class Tracker(Protocol):
    def update(self, frame: Frame, poses: Poses) -> Poses: ...


@dataclass
class StageTimes:
    """Accumulated seconds per stage (for ``--profile``)."""

    seconds: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    persons: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:  # stages add from their own threads
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def per_frame_ms(self) -> dict[str, float]:
        return {k: 1000.0 * v / max(self.frames, 1) for k, v in self.seconds.items()}


class Pipeline:
    """Whole-body multi-person pose estimation.

    Args:
        detector: person detector ``image -> Detections``; default: the mode's
            (:func:`alphapose.modes.build_detector`; ``balanced``:
            :func:`alphapose.detection.fused.default_detector`, NanoDet-m boxes placed by
            BlazePose, or BlazePose alone when NanoDet cannot be fetched).
        estimator: pose estimator ``(image, Detections) -> Poses``; default: the embedded
            whole-body estimator (Halpe-136) with the mode's settings.
        mode: accuracy preset of the default detector and estimator: ``"lightweight"``,
            ``"balanced"`` (default) or ``"performance"`` (:data:`alphapose.modes.MODES`); a
            detector or estimator passed in is used as it is.
        pose_nms: ``"pnms"`` (parametric pose NMS), ``"oks"`` or ``"none"``.
        nms_params: parameters of the parametric pose NMS (default: by layout).
        min_box_area: drop poses whose keypoint extent (x 2.25) is smaller than this (px^2).
        tracker: optional tracker giving identities.
        smoother: optional temporal keypoint smoother with the tracker's shape
            (``update(frame, poses) -> poses``), applied right after the tracker, e.g.
            :class:`alphapose.smoothing.KeypointSmoother` (One-Euro per track id; it needs a
            tracker: untracked people pass unchanged).
        layout: output keypoint layout (converted from the estimator's when different).
        score_parts: the person score is the official formula (mean + box score + 1.25 max)
            over the keypoints of these parts; ``None`` = all keypoints as the official code.
            ``"auto"`` (default) takes the estimator's ``person_score_parts`` (official networks:
            all keypoints). The embedded estimator leaves out face and hands: their scores are
            one presence probability per part, all or nothing, which made the ranking of people
            (and so AP) depend on whether their hands are visible (COCO body AP with
            ground-truth boxes 0.48 -> 0.55).
        detect_every: on consecutive frames of one video, run the detector on every
            ``detect_every``-th frame only; in between, an estimator that supports tracking
            (``supports_tracking``) re-estimates the people of the previous frame from crops
            placed by their own landmarks (one body pass each), as MediaPipe tracks bodies.
            Detection frames start afresh, so people entering the frame are found, and a
            false person lives at most until the next one. 1 = detect on every frame. Still
            images always run the detector. Measured on 2 cores, 4 people per frame: 2-3x the
            frame rate of detecting every frame, and steadier people counts.
        prefetch: frames to read ahead in a background thread in :meth:`run` (the capacity of
            every queue between stages; ``qsize`` is the same setting).
        sp: run :meth:`run` in a single thread: no reader thread, no stage threads.
        qsize: when given, overrides ``prefetch``.
        workers: threads that run a staged estimator's tasks in :meth:`run` (the embedded
            default: one task per body, hand and face), each with its own copy of the models
            (1 interpreter thread each). Default: the cores this process may use, at most 4.
            1 = the estimator runs in the estimator stage's thread. Ignored with ``sp``.
        detbatch: images per detector call in :meth:`run` for detectors that take batches
            (``detect(images)``: YOLOX, YOLOv3); only frames already read are gathered, so
            a live source never waits for a batch to fill. Ignored with ``sp``.
        opencv_threads: OpenCV's own thread pool size, set process-wide when :meth:`run`
            starts (None: leave it). The stages already keep the cores busy; OpenCV's pool on
            top only competes with them (measured: 0.15 core of spinning at the same frame
            rate).
        low_light: the models see dark images brightened (a gain to mean level 0.4 when the
            mean is below 0.25; :func:`alphapose.transforms.brighten_if_dark`); outputs and
            renders keep the original pixels.
        world: the default estimator also gives each person's 3D keypoints in metres
            (``Poses.keypoints_3d``; an estimator passed in must already be built so).
        masks: the default estimator also gives each person's mask (``Poses.masks``, COCO RLE).

    Example:
        >>> pipeline = Pipeline()                                   # doctest: +SKIP
        >>> poses = pipeline.predict(cv2.imread("people.jpg"))      # doctest: +SKIP
        >>> for frame, poses in pipeline.run(open_sources(["video.mp4"])[0]):  # doctest: +SKIP
        ...     print(frame.index, len(poses))
    """

    def __init__(self, detector: Detector | None = None, estimator: Any | None = None, *,
                 mode: str = "balanced", pose_nms: str = "pnms", nms_params: Any | None = None,
                 min_box_area: float = 0.0, tracker: Tracker | None = None,
                 smoother: Tracker | None = None,
                 layout: str | None = None,
                 score_parts: tuple[str, ...] | None | str = "auto",
                 detect_every: int = 5, prefetch: int = 8, sp: bool = False,
                 qsize: int | None = None, workers: int | None = None,
                 detbatch: int = 5, opencv_threads: int | None = 1,
                 low_light: bool = True, world: bool = False, masks: bool = False) -> None:
        from alphapose.nms import POSE_NMS_METHODS

        if pose_nms not in POSE_NMS_METHODS:
            raise ValueError(f"pose_nms {pose_nms!r} is not one of {POSE_NMS_METHODS}")
        from alphapose.modes import build_detector, estimator_config, get_mode

        self.mode = get_mode(mode).name
        default_boxes = False
        if detector is None:
            detector, name = build_detector(self.mode)
            default_boxes = name != "blaze"
        if estimator is None:
            from alphapose.estimators.blaze import BlazeWholeBody

            # the default detector's plain boxes are a detector's, not the user's
            config = estimator_config(self.mode, world=world, masks=masks)
            estimator = BlazeWholeBody(config.for_detector_boxes() if default_boxes else config)
        for name, wanted in (("world", world), ("masks", masks)):
            if wanted and not getattr(getattr(estimator, "config", None), name, False):
                raise ValueError(f"{name}=True needs the embedded estimator built with it "
                                 f"(BlazeWholeBodyConfig({name}=True)); this estimator "
                                 f"({type(estimator).__name__}) does not give it")
        self.detector = detector
        self.estimator = estimator
        self.pose_nms = pose_nms
        self.nms_params = nms_params
        self.min_box_area = float(min_box_area)
        self.tracker = tracker
        self.smoother = smoother
        self.layout = layout
        if score_parts == "auto":
            score_parts = getattr(estimator, "person_score_parts", None)
        self.score_parts = score_parts
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detect_every = int(detect_every)
        if qsize is not None:
            if int(qsize) < 1:
                raise ValueError(f"qsize must be >= 1, got {qsize}")
            prefetch = qsize
        self.prefetch = max(1, int(prefetch))
        self.sp = bool(sp)
        self.times = StageTimes()
        self._previous: tuple[Frame, Any] | None = None
        if workers is None:
            workers = min(available_cores(), 4)
        if int(workers) < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self.opencv_threads = opencv_threads
        if int(detbatch) < 1:
            raise ValueError(f"detbatch must be >= 1, got {detbatch}")
        self.detbatch = int(detbatch)
        self.low_light = bool(low_light)
        self._replicas: list[Any] = []

    def _post_process(self, poses: Poses) -> Poses:
        from alphapose.nms import PoseNMSParams, apply_pose_nms

        params = self.nms_params
        if params is None and self.pose_nms == "pnms":
            # The official choice by loss type; the embedded estimator's scores are
            # probabilities like the regression models'.
            regression = bool(getattr(self.estimator, "regression", True))
            params = PoseNMSParams.for_layout(poses.layout, regression=regression)
        poses = apply_pose_nms(poses, self.pose_nms, params=params,
                               min_box_area=self.min_box_area)
        if self.score_parts is not None and len(poses):
            from alphapose.skeletons import get_layout

            parts = get_layout(poses.layout).parts
            index = np.concatenate([parts[name] for name in self.score_parts])
            poses.scores = official_person_scores(poses.keypoint_scores[:, index],
                                                  poses.box_scores)
        if self.layout is not None and self.layout != poses.layout:
            from alphapose.skeletons import convert_poses

            poses = convert_poses(poses, self.layout)
        return poses

    def predict(self, image: np.ndarray, frame: Frame | None = None) -> Poses:
        """Poses of every person in one BGR image.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            frame: the frame the image belongs to (passed to the tracker).

        Returns:
            Poses in :attr:`layout` (or the estimator's layout).
        """
        check_image(image)
        return self._predict(image, frame, None)

    def needs_detection(self, frame: Frame, previous: Frame | None) -> bool:
        """Whether ``frame`` surely runs the detector, knowing only the frame read before it.

        The concurrent run detects such frames ahead. A frame for which this is False may still
        need the detector (when the previous frame failed or had nobody); it then runs in line.
        """
        if (self.detect_every == 1 or previous is None
                or not getattr(self.estimator, "supports_tracking", False)):
            return True
        return (frame.index % self.detect_every == 0 or previous.source != frame.source
                or previous.path != frame.path or frame.index != previous.index + 1)

    def _predict(self, image: np.ndarray, frame: Frame | None,
                 detections_ahead: Detections | None) -> Poses:
        """:meth:`predict` with optionally precomputed detections of this image."""
        return self._begin(image, frame, detections_ahead, None)()

    @property
    def staged(self) -> bool:
        """Whether the estimator splits a frame's work in two, which lets the concurrent run
        start the next frame early:

        * ``find_people(image, detections, tracked, tasks) -> people``: what the next frame
          depends on (the embedded default: the bodies; a network: the crops);
        * ``tracked_people(people)``: what the next video frame starts from (None: nothing);
        * ``start_parts(image, people, tasks) -> finish``: queues the rest (hands and face; the
          network call, batched across frames); ``finish()`` waits and returns the Poses.

        ``tasks`` is where the estimator's tasks run (:mod:`alphapose.tasks`; None: in line).
        """
        return all(callable(getattr(self.estimator, name, None))
                   for name in ("find_people", "start_parts", "tracked_people"))

    def _begin(self, image: np.ndarray, frame: Frame | None,
               detections_ahead: Detections | None, tasks: Any) -> Callable[[], Poses]:
        """Start one frame: detect (unless given or tracking), estimate what the next frame
        depends on, and return the function that finishes it (waits for the rest, pose NMS,
        person scores, tracker). Frames must be begun and finished in order; ``tasks`` is where
        a staged estimator's tasks run (None: in line)."""
        t0 = time.perf_counter()
        image = self.model_image(image)
        # on a detection frame the previous frame's people are not needed (not waited for)
        detection_frame = frame is None or frame.index % self.detect_every == 0
        tracked = None if detection_frame else self._tracked_people(frame)
        detections = Detections.empty()
        if tracked is None or len(tracked) == 0:
            # a detection frame starts afresh: a false positive lives at most until the next
            if detections_ahead is not None:
                detections = detections_ahead
            else:
                detections = self._detect(image, frame)
                self.times.add("detect", time.perf_counter() - t0)
            tracked = None
        t1 = time.perf_counter()
        if self.staged:
            people = self.estimator.find_people(image, detections, tracked, tasks)
            # the next frame follows the estimator's own people (distinct bodies): it need
            # not wait for this frame's hands, face and pose NMS
            self._previous = None if frame is None else (
                frame, self.estimator.tracked_people(people))
            complete = self.estimator.start_parts(image, people, tasks)
            self.times.add("pose", time.perf_counter() - t1)

            def finish() -> Poses:
                t2 = time.perf_counter()
                poses = complete()
                self.times.add("pose", time.perf_counter() - t2)
                return self._finish(image, frame, poses)

            return finish
        if tracked is not None:
            poses = self.estimator(image, detections, tracked=tracked)
        else:
            poses = self.estimator(image, detections)
        self.times.add("pose", time.perf_counter() - t1)
        poses = self._finish(image, frame, poses)
        self._previous = None if frame is None else (frame, poses)
        return lambda: poses

    def _finish(self, image: np.ndarray, frame: Frame | None, poses: Poses) -> Poses:
        """Pose NMS, person scores, layout, tracker and smoother of one frame's poses."""
        t0 = time.perf_counter()
        poses = self._post_process(poses)
        if self.tracker is not None or self.smoother is not None:
            frame = frame or Frame(image, 0, "image")
        if self.tracker is not None:
            poses = self.tracker.update(frame, poses)
        if self.smoother is not None:
            poses = self.smoother.update(frame, poses)
        self.times.add("post", time.perf_counter() - t0)
        with self.times._lock:
            self.times.frames += 1
            self.times.persons += len(poses)
        return poses

    @property
    def batch_detector(self) -> bool:
        """Whether the detector runs a list of images in one network call (``detect(images)``
        and ``batches_images``: YOLOX, YOLOv3)."""
        return (callable(getattr(self.detector, "detect", None))
                and bool(getattr(self.detector, "batches_images", False))
                and not getattr(self.detector, "uses_frame_name", False))

    def worker_models(self) -> list[Any]:
        """The estimator copies :meth:`run`'s workers use, one each (made once, then reused;
        1 interpreter thread per model). Empty when the estimator cannot be copied or
        ``workers`` is 1: the estimator then runs in the estimator stage's thread (and with
        ``sp``: in the caller's)."""
        replicate = getattr(self.estimator, "replicate", None)
        if self.sp or self.workers < 2 or not self.staged or not callable(replicate):
            return []
        while len(self._replicas) < self.workers:
            config = getattr(self.estimator, "config", None)
            if not self._replicas and getattr(config, "num_threads", None) == 1:
                self._replicas.append(self.estimator)
            else:
                self._replicas.append(replicate(num_threads=1))
        return self._replicas[:self.workers]

    def model_image(self, image: np.ndarray) -> np.ndarray:
        """The pixels the models see: :func:`alphapose.transforms.brighten_if_dark` of the
        image when ``low_light`` (the same object unless it is dark), else the image."""
        if not self.low_light:
            return image
        from alphapose.transforms import brighten_if_dark

        return brighten_if_dark(image)

    def _detect(self, image: np.ndarray, frame: Frame | None) -> Detections:
        """The detector on ``image``, the models' view of the frame (:meth:`model_image`)."""
        if getattr(self.detector, "uses_frame_name", False):
            if frame is None:
                raise ValueError("this detector reads detections by image name: call "
                                 "predict(image, frame) or run(frames)")
            return self.detector(image, name=frame.name)
        return self.detector(image)

    def _tracked_people(self, frame: Frame | None) -> Any:
        """The previous frame's people (its poses, or a staged estimator's own record of them)
        when ``frame`` continues the same video, else None."""
        if (self.detect_every == 1 or frame is None or self._previous is None
                or not getattr(self.estimator, "supports_tracking", False)):
            return None
        previous, poses = self._previous
        if (previous.source != frame.source or previous.path != frame.path
                or frame.index != previous.index + 1
                or getattr(poses, "roi_points", None) is None):
            return None
        return poses

    def run(self, frames: Iterable[Frame],
            on_error: Callable[[Frame, Exception], None] | None = None
            ) -> Iterator[tuple[Frame, Poses]]:
        """Yield ``(frame, poses)`` for every frame, in order, as each is finished.

        Args:
            frames: any iterable of frames (a source).
            on_error: called with the frame and the error when estimating one frame fails
                (``ValueError``, ``RuntimeError``, ``MemoryError``); the frame is skipped and the
                run goes on. Without it the error propagates.
        """
        if self.opencv_threads is not None:
            import cv2

            cv2.setNumThreads(int(self.opencv_threads))
        if self.sp:
            return self._run_sp(frames, on_error)
        from alphapose.concurrent import run_concurrent

        return run_concurrent(self, frames, on_error)

    def _run_sp(self, frames: Iterable[Frame],
                on_error: Callable[[Frame, Exception], None] | None
                ) -> Iterator[tuple[Frame, Poses]]:
        iterator = iter(frames)
        while True:
            t0 = time.perf_counter()
            frame = next(iterator, None)
            if frame is None:
                return
            self.times.add("read", time.perf_counter() - t0)
            try:
                poses = self.predict(frame.image, frame)
            except (ValueError, RuntimeError, MemoryError) as error:
                if on_error is None:
                    raise
                on_error(frame, error)
                continue
            yield frame, poses


def available_cores() -> int:
    """CPU cores this process may run on."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
