"""The top-down pipeline: frames -> person detection -> pose estimation -> pose NMS -> (tracking).

``Pipeline.predict(image)`` handles one image; ``Pipeline.run(frames)`` (or ``run("video.mp4")``)
is a generator that yields ``(frame, poses)`` per frame as soon as it is done and never
accumulates results. The stages meet through the contracts of :mod:`alphapose.stages`.

One frame is two steps, which the runs drive through this public API:

* :meth:`Pipeline.begin` -- detect (unless the frame's detections are given or it follows the
  previous frame's people), estimate what the next frame depends on, and return the function
  that finishes the frame;
* that ``finish()`` -- the rest of the estimate, pose NMS, person scores, layout, tracker.

:meth:`Pipeline.run` runs them in the caller's thread (``RunOptions(sp=True)``) or with each
stage in its own thread (:mod:`alphapose.threaded`)::

    reader (decode) -> detector (frames that will need it) -> estimator (what the next frame
        depends on) -> finisher (the rest, pose NMS, tracker) -> the caller's loop (writing)

with a staged estimator's tasks (the embedded default: one per body, hand and face) on
``workers`` threads. With ``detect_every > 1`` the bodies of frame t are estimated from the
people of frame t-1: the people the estimator kept (distinct bodies), not the output after pose
NMS, so the next frame need not wait for hands, face and pose NMS. Both runs give the same
results, in input order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.stages import (
    Detector,
    Resettable,
    Tracker,
    describe_detector,
    describe_estimator,
)
from alphapose.structures import Detections, Frame, Poses, check_image, official_person_scores
from alphapose.threaded import FRAME_ERRORS, RunOptions, available_cores, run_threaded

__all__ = ["Detector", "Pipeline", "RunOptions", "StageTimes", "Tracker", "available_cores"]


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

    def count(self, persons: int) -> None:
        """One more frame finished, with ``persons`` people."""
        with self._lock:
            self.frames += 1
            self.persons += persons

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
        detect_backoff: while detection frames find exactly the people already followed (an
            estimator with ``same_people``), the interval between them doubles, up to
            ``detect_every * detect_backoff`` frames, and falls back to ``detect_every`` as
            soon as one finds anybody else; 1 = every ``detect_every``-th frame. Measured on
            one person in 640x480 (2 cores): process CPU per frame -20%, frame rate x1.06
            (lightweight) and x1.09 (balanced); crowds (demo.mp4, video.avi) unchanged, as
            their detection frames always find somebody new. The cost: somebody entering a
            still scene is found up to ``detect_every * detect_backoff`` frames later.
        run: scheduling of :meth:`run` (:class:`alphapose.threaded.RunOptions`: ``sp``,
            ``qsize``, ``workers``, ``detbatch``, ``opencv_threads``); it never changes results.
        low_light: the models see dark images brightened (a gain to mean level 0.4 when the
            mean is below 0.25; :func:`alphapose.transforms.brighten_if_dark`); outputs and
            renders keep the original pixels.
        world: the default estimator also gives each person's 3D keypoints in metres
            (``Poses.keypoints_3d``, each skeleton scaled to a person 1.70 m tall; an
            estimator passed in must already be built so, e.g. with
            ``estimator_config(mode, world=True, world_height=H)`` for another height).
        masks: the default estimator also gives each person's mask (``Poses.masks``, COCO RLE).

    Example:
        >>> pipeline = Pipeline()                                   # doctest: +SKIP
        >>> poses = pipeline.predict(cv2.imread("people.jpg"))      # doctest: +SKIP
        >>> for frame, poses in pipeline.run("video.mp4"):           # doctest: +SKIP
        ...     print(frame.index, len(poses))
    """

    def __init__(self, detector: Detector | None = None, estimator: Any | None = None, *,
                 mode: str = "balanced", pose_nms: str = "pnms", nms_params: Any | None = None,
                 min_box_area: float = 0.0, tracker: Tracker | None = None,
                 smoother: Tracker | None = None,
                 layout: str | None = None,
                 score_parts: tuple[str, ...] | None | str = "auto",
                 detect_every: int = 5, detect_backoff: int = 4,
                 run: RunOptions | None = None,
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
        self.detector_info = describe_detector(detector)
        self.estimator_info = describe_estimator(estimator)
        for name, wanted in (("world", world), ("masks", masks)):
            if wanted and name not in self.estimator_info.extra_outputs:
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
            score_parts = self.estimator_info.person_score_parts
        self.score_parts = score_parts
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        if detect_backoff < 1:
            raise ValueError(f"detect_backoff must be >= 1, got {detect_backoff}")
        self.detect_every = int(detect_every)
        self.detect_backoff = int(detect_backoff)
        # frames between detection frames now (a multiple of detect_every), the last frame due
        # for detection, and what the last detection frame is to be compared with
        # (see _detection_due)
        self._interval = self.detect_every
        self._last_due: Frame | None = None
        self._check: tuple[Any, Any] | None = None
        self.options = run or RunOptions()
        self.times = StageTimes()
        self._following: _Following | None = None
        self.low_light = bool(low_light)
        self._replicas: list[Any] = []

    @property
    def workers(self) -> int:
        """Threads that run a staged estimator's tasks in the threaded run
        (:attr:`RunOptions.worker_count`)."""
        return self.options.worker_count

    @property
    def staged(self) -> bool:
        """Whether the estimator is a :class:`~alphapose.stages.StagedEstimator` (the threaded run
        then starts the next frame as soon as this frame's people are known)."""
        return self.estimator_info.staged

    def reset(self) -> None:
        """A new video starts: forget the previous frame (the next one runs the detector) and
        reset the tracker and smoother that can be (:class:`~alphapose.stages.Resettable`:
        identities start again)."""
        self._following = None
        self._restart_schedule()
        for stage in (self.tracker, self.smoother):
            if isinstance(stage, Resettable):
                stage.reset()

    def _post_process(self, poses: Poses) -> Poses:
        from alphapose.nms import PoseNMSParams, apply_pose_nms

        params = self.nms_params
        if params is None and self.pose_nms == "pnms":
            # The official choice by loss type; the embedded estimator's scores are
            # probabilities like the regression models'.
            params = PoseNMSParams.for_layout(poses.layout,
                                              regression=self.estimator_info.regression)
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
            frame: the frame the image belongs to (passed to the tracker; with ``detect_every >
                1`` a frame that continues the previous one's video follows its people).

        Returns:
            Poses in :attr:`layout` (or the estimator's layout).
        """
        check_image(image)
        return self.begin(image, frame)()

    def needs_detection(self, frame: Frame, previous: Frame | None) -> bool:
        """Whether ``frame`` surely runs the detector, knowing only the frame read before it.

        The threaded run detects such frames ahead. A frame for which this is False may still
        need the detector (when the previous frame failed or had nobody); it then runs in line.
        """
        if self.detect_every == 1 or previous is None or not self.estimator_info.tracking:
            return True
        if not _continues(previous, frame):
            return True
        # while detection frames are spaced out (backoff), which ones run is known only as
        # the earlier ones finish: those then run the detector in line
        return frame.index % self.detect_every == 0 and self._interval == self.detect_every

    def begin(self, image: np.ndarray, frame: Frame | None = None,
              detections: Detections | None = None, tasks: Any = None) -> Callable[[], Poses]:
        """Start one frame: detect (unless ``detections`` are given or the frame follows the
        previous frame's people), estimate what the next frame depends on, and return the
        function that finishes it (the rest of the estimate, pose NMS, person scores, layout,
        tracker, smoother).

        Frames must be begun and finished in order. ``tasks`` is where a staged estimator's
        tasks run (:class:`alphapose.tasks.WorkerPool`; None: in line). ``image`` must have
        passed :func:`~alphapose.structures.check_image`.
        """
        t0 = time.perf_counter()
        image = self.model_image(image)
        # on a detection frame the previous frame's people are not needed (not waited for)
        detection_frame = self._detection_due(frame)
        followed = self._tracked_people(frame)
        tracked = None if detection_frame else followed
        if tracked is None or len(tracked) == 0:
            # a detection frame starts afresh: a false positive lives at most until the next
            if detections is None:
                detections = self.detect(image, frame)
                self.times.add("detect", time.perf_counter() - t0)
            tracked = None
        else:
            detections = Detections.empty()
        t1 = time.perf_counter()
        estimator = self.estimator
        if self.estimator_info.staged:
            if self.estimator_info.tracking:
                people = estimator.find_people(image, detections, tracked, tasks)
            else:
                people = estimator.find_people(image, detections, None, tasks)
            # the next frame follows the estimator's own people (distinct bodies): it need
            # not wait for this frame's hands, face and pose NMS
            self._follow(frame, people, tracked is None, followed)
            complete = estimator.start_parts(image, people, tasks)
            self.times.add("pose", time.perf_counter() - t1)

            def finish() -> Poses:
                t2 = time.perf_counter()
                poses = complete()
                self.times.add("pose", time.perf_counter() - t2)
                return self._finish(image, frame, poses)

            return finish
        if tracked is not None:
            poses = estimator(image, detections, tracked=tracked)
        else:
            poses = estimator(image, detections)
        self.times.add("pose", time.perf_counter() - t1)
        self._follow(frame, poses, tracked is None, followed)
        poses = self._finish(image, frame, poses)
        return lambda: poses

    def _follow(self, frame: Frame | None, people: Any, detected: bool = False,
                followed: Any = None) -> None:
        """Record what the next frame of this video starts from (estimators that track); on a
        frame that ran the detector (``detected``) also what the detection schedule compares
        (``followed``: the people followed into it, None when none were)."""
        if frame is None or not self.estimator_info.tracking or self.detect_every == 1:
            self._following = None
            return
        self._following = _Following(frame, self.estimator.tracked_people(people))
        if detected:
            self._check = ((followed, self._following.people)
                           if followed is not None and self.estimator_info.compares_people
                           else None)

    def _restart_schedule(self) -> None:
        self._interval = self.detect_every
        self._last_due = None
        self._check = None

    def _detection_due(self, frame: Frame | None) -> bool:
        """Whether ``frame`` is a detection frame: the first frame of a video and every
        ``detect_every``-th frame, fewer while detection frames find only the people already
        followed (a frame that follows nobody runs the detector anyway).

        After a detection frame that found exactly the people followed into it (the
        estimator's ``same_people``), the interval doubles, up to ``detect_every *
        detect_backoff`` frames; after one that found anybody else (or lost anybody), it is
        ``detect_every`` again. The comparison is made when the next frame begins (it waits
        for the detection frame's people anyway), so the schedule depends on results only,
        never on timing."""
        if frame is None or self.detect_every == 1:
            return True
        last = self._last_due
        if (last is None or last.source != frame.source or last.path != frame.path
                or frame.index <= last.index):
            self._restart_schedule()
            self._last_due = frame
            return True
        if self._check is not None:
            before, after = self._check
            self._check = None
            if self.estimator.same_people(before, after):
                self._interval = min(self._interval * 2, self.detect_every * self.detect_backoff)
            else:
                self._interval = self.detect_every
        due = frame.index % self.detect_every == 0 and (
            self._interval == self.detect_every or frame.index - last.index >= self._interval)
        if due:
            self._last_due = frame
        return due

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
        self.times.count(len(poses))
        return poses

    @property
    def detect_batch(self) -> int:
        """Frames per detector call in the threaded run: ``detbatch`` for a detector that takes
        batches (:class:`~alphapose.stages.BatchDetector`), else 1."""
        return self.options.detbatch if self.detector_info.batches else 1

    def detect_frames(self, frames: list[Frame]) -> list[Detections | Exception]:
        """The detections of each frame (or the error that concerns that frame): one call per
        :attr:`detect_batch` frames, frame by frame when a batch fails."""
        found: list[Detections | Exception] = []
        size = self.detect_batch
        for start in range(0, len(frames), size):
            chunk = frames[start:start + size]
            if len(chunk) > 1:
                try:
                    results = self.detector.detect([self.model_image(f.image) for f in chunk])
                    if len(results) == len(chunk):
                        found.extend(results)
                        continue
                except FRAME_ERRORS:
                    pass  # find the frame that fails, one at a time
            for frame in chunk:
                try:
                    found.append(self.detect(self.model_image(frame.image), frame))
                except FRAME_ERRORS as error:
                    found.append(error)
        return found

    def worker_models(self) -> list[Any]:
        """The estimator copies the threaded run's workers use, one each (made once, then
        reused; 1 interpreter thread per model). Empty when the estimator cannot be copied or
        ``workers`` is 1: the estimator then runs in the estimator stage's thread (and with
        ``sp``: in the caller's)."""
        info = self.estimator_info
        if self.options.sp or self.workers < 2 or not info.staged or not info.replicable:
            return []
        while len(self._replicas) < self.workers:
            if not self._replicas and info.single_threaded:
                self._replicas.append(self.estimator)
            else:
                self._replicas.append(self.estimator.replicate(num_threads=1))
        return self._replicas[:self.workers]

    def model_image(self, image: np.ndarray) -> np.ndarray:
        """The pixels the models see: :func:`alphapose.transforms.brighten_if_dark` of the
        image when ``low_light`` (the same object unless it is dark), else the image."""
        if not self.low_light:
            return image
        from alphapose.transforms import brighten_if_dark

        return brighten_if_dark(image)

    def detect(self, image: np.ndarray, frame: Frame | None = None) -> Detections:
        """The detector on ``image`` (pass the models' view, :meth:`model_image`)."""
        if self.detector_info.by_name:
            if frame is None:
                raise ValueError("this detector reads detections by image name: call "
                                 "predict(image, frame) or run(frames)")
            return self.detector(image, name=frame.name)
        return self.detector(image)

    def _tracked_people(self, frame: Frame | None) -> Any:
        """What the previous frame's people left for this frame when it continues the same
        video, else None."""
        following = self._following
        if (self.detect_every == 1 or frame is None or following is None
                or not _continues(following.frame, frame)):
            return None
        return following.people

    def run(self, frames: Iterable[Frame] | str | Path,
            on_error: Callable[[Frame, Exception], None] | None = None
            ) -> Iterator[tuple[Frame, Poses]]:
        """Yield ``(frame, poses)`` for every frame, in order, as each is finished.

        Args:
            frames: any iterable of frames (a source), or a path: an image, a folder of
                images, a video or a webcam index as text (every source it opens, in order;
                :func:`alphapose.sources.open_sources`).
            on_error: called with the frame and the error when estimating one frame fails
                (``ValueError``, ``RuntimeError``, ``MemoryError``); the frame is skipped and the
                run goes on. Without it the error propagates.
        """
        if isinstance(frames, (str, Path)):
            frames = _frames_of(frames)
        if self.options.opencv_threads is not None:
            import cv2

            cv2.setNumThreads(int(self.options.opencv_threads))
        if self.options.sp:
            return self._run_sp(frames, on_error)
        return run_threaded(self, frames, on_error)

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
            except FRAME_ERRORS as error:
                if on_error is None:
                    raise
                on_error(frame, error)
                continue
            yield frame, poses


@dataclass
class _Following:
    """The frame-to-frame state of a video: its last frame and what the estimator's
    ``tracked_people`` left for the next one."""

    frame: Frame
    people: Any


def _continues(previous: Frame, frame: Frame) -> bool:
    """Whether ``frame`` is the frame right after ``previous`` in the same video."""
    return (previous.source == frame.source and previous.path == frame.path
            and frame.index == previous.index + 1)


def _frames_of(path: str | Path) -> Iterator[Frame]:
    """Every frame of the sources ``path`` opens (one that cannot be opened logs why and
    yields nothing; video sources release their capture when iterated to the end or closed)."""
    from alphapose.sources import open_sources

    for source in open_sources([str(path)]):
        yield from source
