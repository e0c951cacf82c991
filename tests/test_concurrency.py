"""The concurrent run: same results as ``sp``, order, overlap, errors and clean stops."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from alphapose.pipeline import Pipeline as _Pipeline
from alphapose.pipeline import RunOptions
from alphapose.structures import Detections, Frame, Poses


def Pipeline(*args, **kwargs) -> _Pipeline:  # stands in for the class
    """The pipeline, showing the models every frame as it is: these frames carry data in their
    brightness (box position, failure marker), which the low-light gain would change."""
    kwargs.setdefault("low_light", False)
    return _Pipeline(*args, **kwargs)


class ShiftDetector:
    """One box per frame at x = the frame's brightness; refuses black frames; can sleep."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[int] = []
        self.threads: set[int] = set()

    def __call__(self, image: np.ndarray) -> Detections:
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        if image.max() == 0:
            raise ValueError("black frame")
        self.calls.append(int(image[0, 0, 0]))
        x = float(image[0, 0, 0])
        return Detections(np.array([[x, 0, x + 10, 10]]), np.array([0.9]))


class TrackingPose:
    """Estimator: 17 keypoints spread from the box corner; tracked people move 1 px right per
    frame; fails with ``error`` on frames whose first pixel equals ``fail_on``."""

    layout = "coco17"
    supports_tracking = True

    def __init__(self, delay: float = 0.0, fail_on: int | None = None,
                 error: type[Exception] = RuntimeError) -> None:
        self.delay, self.fail_on, self.error = delay, fail_on, error
        self.threads: set[int] = set()

    def __call__(self, image, detections, tracked=None):
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        if self.fail_on is not None and int(image[0, 0, 0]) == self.fail_on:
            raise self.error(f"cannot estimate {self.fail_on}")
        keypoints = np.repeat(detections.xyxy[:, None, :2], 17, 1) + np.arange(17)[None, :, None]
        poses = Poses(keypoints.astype(np.float32), np.full((len(detections), 17), 0.8),
                      detections.xyxy, detections.scores, layout=self.layout)
        if tracked is not None:
            moved = Poses(tracked.keypoints + [1, 0], tracked.keypoint_scores, tracked.xyxy + 1,
                          tracked.box_scores, layout=self.layout)
            poses = poses.concat(moved) if len(poses) else moved
        return poses

    @staticmethod
    def tracked_people(poses: Poses) -> Poses:
        """The next frame starts from this frame's poses."""
        return poses


class CountingTracker:
    """Numbers people by order of appearance within a video (runs in the estimator stage)."""

    def __init__(self) -> None:
        self.seen = 0

    def update(self, frame: Frame, poses: Poses) -> Poses:
        poses.track_ids = np.arange(self.seen, self.seen + len(poses), dtype=np.int64)
        self.seen += len(poses)
        return poses


def video(values: list[int], path: str = "a.mp4", start: int = 0) -> list[Frame]:
    return [Frame(np.full((16, 16, 3), v, np.uint8), start + i, f"{start + i}.jpg", path=path,
                  source=path) for i, v in enumerate(values)]


def collect(pipeline: Pipeline, frames, errors: list) -> list[tuple]:
    out = []
    for frame, poses in pipeline.run(frames, on_error=lambda f, e: errors.append(
            (f.path, f.index, str(e)))):
        out.append((frame.path, frame.index, poses.keypoints.copy(), poses.track_ids.copy()))
    return out


def stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("alphapose-")]


def stages_end(deadline: float = 10.0) -> bool:
    """Whether every stage and worker thread has ended within ``deadline`` seconds (a bound on
    hanging, not a speed figure: it returns as soon as they are gone)."""
    end = time.monotonic() + deadline
    while stage_threads():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("every", [1, 3, 5], ids=["every1", "every3", "every5"])
def test_concurrent_equals_single_thread(every: int) -> None:
    # two videos, a frame whose detection fails (black), a frame whose estimation fails (77),
    # a gap in the indices of the second video: every rule of when to detect is exercised
    values = [10 * i + 5 for i in range(12)]
    values[4], values[8] = 0, 77
    frames = video(values) + video([20, 30, 40, 50], "b.mp4") + video([60, 70], "b.mp4", 9)
    results = {}
    for sp in (True, False):
        errors: list = []
        detector = ShiftDetector()
        pipeline = Pipeline(detector, TrackingPose(fail_on=77), pose_nms="none",
                            detect_every=every, tracker=CountingTracker(),
                            run=RunOptions(sp=sp, qsize=2))
        results[sp] = (collect(pipeline, frames, errors), errors, detector.calls)
    (single, single_errors, single_calls), (multi, multi_errors, multi_calls) = \
        results[True], results[False]
    # the black frame fails only where it is detected (tracked frames skip the detector)
    expected = [("a.mp4", 4, "black frame")] if 4 % every == 0 else []
    assert multi_errors == single_errors == expected + [("a.mp4", 8, "cannot estimate 77")]
    assert sorted(multi_calls) == sorted(single_calls)  # no extra detector work (the order
    # differs: detection frames are detected ahead of frames detected in line)
    assert [(p, i) for p, i, _, _ in multi] == [(p, i) for p, i, _, _ in single]
    for (_, _, k1, t1), (_, _, k2, t2) in zip(single, multi):
        np.testing.assert_array_equal(k1, k2)
        np.testing.assert_array_equal(t1, t2)


def test_sp_runs_in_the_calling_thread() -> None:
    detector, estimator = ShiftDetector(), TrackingPose()
    read_in: set[int] = set()

    def frames():
        for frame in video([5, 6, 7]):
            read_in.add(threading.get_ident())
            yield frame

    list(Pipeline(detector, estimator, pose_nms="none", run=RunOptions(sp=True)).run(frames()))
    assert read_in == detector.threads == estimator.threads == {threading.get_ident()}


class HandshakeDetector(ShiftDetector):
    """Detecting the second frame (brightness 2) waits until the estimator is busy with the
    first; ``HandshakePose`` keeps estimating the first until the second is detected. Only
    stages that run at the same time get through; sequential ones would wait out the timeout
    (a safety net, never reached when the stages overlap: no duration is asserted)."""

    def __init__(self, pose_busy: threading.Event, detected: threading.Event) -> None:
        super().__init__()
        self.pose_busy, self.detected = pose_busy, detected
        self.met: list[bool] = []

    def __call__(self, image: np.ndarray) -> Detections:
        if int(image[0, 0, 0]) == 2:
            self.met.append(self.pose_busy.wait(timeout=30))
        out = super().__call__(image)
        if int(image[0, 0, 0]) == 2:
            self.detected.set()
        return out


class HandshakePose(TrackingPose):
    def __init__(self, pose_busy: threading.Event, detected: threading.Event) -> None:
        super().__init__()
        self.pose_busy, self.detected = pose_busy, detected
        self.met: list[bool] = []

    def __call__(self, image, detections, tracked=None):
        if int(image[0, 0, 0]) == 1:
            self.pose_busy.set()
            self.met.append(self.detected.wait(timeout=30))
        return super().__call__(image, detections, tracked)


def test_stages_overlap_and_order_is_kept() -> None:
    count = 16
    pose_busy, detected = threading.Event(), threading.Event()
    detector, estimator = HandshakeDetector(pose_busy, detected), HandshakePose(pose_busy, detected)
    pipeline = Pipeline(detector, estimator, pose_nms="none", detect_every=1,
                        run=RunOptions(sp=False))
    order = [frame.index for frame, _ in pipeline.run(video(list(range(1, count + 1))))]
    assert order == list(range(count))
    # the detector worked on frame 1 while the estimator was inside frame 0, in two threads
    assert detector.met == [True] and estimator.met == [True]
    assert detector.threads.isdisjoint(estimator.threads)
    # one thread (sp): the same order, every stage in the caller's thread
    detector, estimator = ShiftDetector(), TrackingPose()
    pipeline = Pipeline(detector, estimator, pose_nms="none", detect_every=1,
                        run=RunOptions(sp=True))
    order = [frame.index for frame, _ in pipeline.run(video(list(range(1, count + 1))))]
    assert order == list(range(count))
    assert detector.threads == estimator.threads == {threading.get_ident()}


def test_unexpected_error_stops_every_stage() -> None:
    pipeline = Pipeline(ShiftDetector(), TrackingPose(fail_on=35, error=KeyError),
                        pose_nms="none")
    seen = []
    with pytest.raises(KeyError, match="35"):
        for frame, _ in pipeline.run(video([10 * i + 5 for i in range(10)]),
                                     on_error=lambda f, e: None):
            seen.append(frame.index)
    assert seen == [0, 1, 2]  # the frames before the failing one, all of them
    assert stages_end()


def test_leaving_the_loop_stops_reading() -> None:
    read = itertools.count()

    def endless():
        for i in read:
            yield Frame(np.full((16, 16, 3), 9, np.uint8), i, f"{i}.jpg", path="cam", source="cam")

    pipeline = Pipeline(ShiftDetector(), TrackingPose(), pose_nms="none", run=RunOptions(qsize=2))
    results = pipeline.run(endless())
    done = [next(results)[0].index for _ in range(3)]
    results.close()  # what a `break` or Ctrl-C (KeyboardInterrupt in the loop) does
    assert done == [0, 1, 2]
    assert stages_end()
    # four queues of two frames between reader and caller, plus one in each stage's hands
    assert next(read) <= 3 + 4 * 2 + 4


def test_interrupt_in_the_loop_keeps_finished_frames() -> None:
    pipeline = Pipeline(ShiftDetector(0.002), TrackingPose(0.002), pose_nms="none")
    finished = []
    with pytest.raises(KeyboardInterrupt):
        for frame, poses in pipeline.run(video(list(range(1, 40)))):
            finished.append((frame.index, len(poses)))
            if frame.index == 5:
                raise KeyboardInterrupt
    assert finished == [(i, 1) for i in range(6)]
    assert stages_end()


def test_bad_queue_size_is_refused() -> None:
    with pytest.raises(ValueError, match="qsize"):
        Pipeline(ShiftDetector(), TrackingPose(), run=RunOptions(qsize=0))


@pytest.mark.models
def test_embedded_default_concurrent_equals_single_thread(embedded_models, astronaut_bgr) -> None:
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

    image = np.ascontiguousarray(astronaut_bgr[:, :400])
    frames = [Frame(np.roll(image, 3 * i, axis=1), i, f"{i}.jpg", path="v.mp4", source="v.mp4")
              for i in range(6)]
    # a second person (the mirrored astronaut) so that the workers share a frame's people
    frames = [Frame(np.concatenate([f.image, f.image[:, ::-1]], 1), f.index, f.name,
                    path=f.path, source=f.source) for f in frames]
    out, pipelines = {}, {}
    for mode, workers in (("sp", 1), ("one worker", 1), ("two workers", 2)):
        estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=2))
        pipeline = Pipeline(BlazePersonDetector(num_threads=1), estimator, detect_every=3,
                            run=RunOptions(sp=mode == "sp", workers=workers))
        out[mode] = [(f.index, p.keypoints.copy(), p.keypoint_scores.copy(), p.xyxy.copy())
                     for f, p in pipeline.run(frames)]
        pipelines[mode] = pipeline
    assert [len(k) for _, k, _, _ in out["sp"]] == [2] * 6  # both astronauts on every frame
    for mode in ("one worker", "two workers"):
        for expected, got in zip(out["sp"], out[mode], strict=True):
            assert expected[0] == got[0]
            for a, b in zip(expected[1:], got[1:]):
                np.testing.assert_array_equal(a, b)
    # the two-worker run ran its tasks on two single-threaded copies of the models, both used
    replicas = pipelines["two workers"].worker_models()
    assert len(replicas) == 2 and all(r.config.num_threads == 1 for r in replicas)
    assert replicas[0] is not replicas[1]
    assert all(r.body.model.invocations > 0 for r in replicas)
    assert pipelines["one worker"].worker_models() == []


def test_estimators_without_tasks_run_in_the_estimator_stage() -> None:
    estimator = TrackingPose()
    pipeline = Pipeline(ShiftDetector(), estimator, detect_every=2, run=RunOptions(workers=2))
    assert not pipeline.staged and pipeline.worker_models() == []
    frames = [Frame(np.full((20, 40, 3), 5 + i, np.uint8), i, f"{i}.jpg", path="v", source="v")
              for i in range(4)]
    results = list(pipeline.run(frames))
    assert [f.index for f, _ in results] == [0, 1, 2, 3]
    assert len(estimator.threads) == 1 and threading.get_ident() not in estimator.threads


class BatchShiftDetector(ShiftDetector):
    """ShiftDetector that also detects a list of images in one call (a black image fails the
    whole call, as one bad input fails a real batched network call)."""

    batches_images = True

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.batches: list[int] = []

    def detect(self, images: list[np.ndarray]) -> list[Detections]:
        time.sleep(self.delay)
        if any(image.max() == 0 for image in images):
            raise ValueError("black frame in the batch")
        self.batches.append(len(images))
        return [ShiftDetector.__call__(self, image) for image in images]


@pytest.mark.parametrize("every", [1, 3], ids=["every1", "every3"])
def test_detector_batches_frames_already_read_with_the_same_results(every: int) -> None:
    values = [10 * i + 5 for i in range(24)]
    values[9] = 0  # a black frame: its batch falls back to one frame at a time
    frames = video(values)
    results = {}
    for sp in (True, False):
        errors: list = []
        detector = BatchShiftDetector(delay=0.02)  # the reader fills the queue meanwhile
        pipeline = Pipeline(detector, TrackingPose(), pose_nms="none", detect_every=every,
                            run=RunOptions(sp=sp, qsize=8, detbatch=4))
        results[sp] = (collect(pipeline, frames, errors), errors, detector)
    (single, single_errors, _), (multi, multi_errors, batching) = results[True], results[False]
    assert multi_errors == single_errors
    assert [(p, i) for p, i, _, _ in multi] == [(p, i) for p, i, _, _ in single]
    for (_, _, k1, _), (_, _, k2, _) in zip(single, multi, strict=True):
        np.testing.assert_array_equal(k1, k2)
    assert batching.batches and max(batching.batches) <= 4
    if every == 1:  # 24 detection frames: most of them went in batches
        assert max(batching.batches) > 1 and sum(batching.batches) >= 12


def test_bad_detector_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="detbatch"):
        Pipeline(ShiftDetector(), TrackingPose(), run=RunOptions(detbatch=0))


@pytest.mark.models
def test_leaving_the_loop_stops_the_workers_too(embedded_models, astronaut_bgr) -> None:
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

    image = np.ascontiguousarray(astronaut_bgr[:, :400])
    frames = (Frame(np.roll(image, i, axis=1), i, f"{i}.jpg", path="v", source="v")
              for i in range(200))
    pipeline = Pipeline(BlazePersonDetector(num_threads=1),
                        BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1)),
                        run=RunOptions(workers=2, qsize=4))
    results = pipeline.run(frames)
    first = [next(results)[0].index for _ in range(2)]
    assert any(name.startswith("alphapose-worker") for name in stage_threads())
    results.close()
    assert first == [0, 1] and stages_end()
