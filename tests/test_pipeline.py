"""Pipeline plumbing: order, per-frame errors, reader errors (tiny in-test stages)."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.pipeline import Pipeline, RunOptions
from alphapose.structures import Detections, Frame, Poses


class BoxPerBrightFrame:
    """Detector: one box whose score is the frame's brightness / 255; refuses black frames.
    (Pipelines that read brightness back leave dark frames as they are: ``low_light=False``.)"""

    def __call__(self, image: np.ndarray) -> Detections:
        if image.max() == 0:
            raise ValueError("black frame")
        return Detections(np.array([[0, 0, 10, 10]]), np.array([image.mean() / 255]))


class CornerPose:
    """Estimator: a 17-keypoint pose at the box corners, scored by the box score."""

    layout = "coco17"

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses:
        keypoints = np.repeat(detections.xyxy[:, None, :2], 17, 1)
        keypoints = keypoints + np.arange(17)[None, :, None]  # spread: no NMS merging
        return Poses(keypoints, np.repeat(detections.scores[:, None], 17, 1), detections.xyxy,
                     detections.scores, layout=self.layout)


def frames(values: list[int]) -> list[Frame]:
    return [Frame(np.full((8, 8, 3), v, np.uint8), i, f"{i}.jpg") for i, v in enumerate(values)]


def test_run_keeps_order_and_reports_failed_frames() -> None:
    pipeline = Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False, pose_nms="none",
                        run=RunOptions(qsize=2))
    values = [10 * i + 5 for i in range(20)]
    values[7] = 0
    failed: list[tuple[int, str]] = []
    out = list(pipeline.run(frames(values), on_error=lambda f, e: failed.append((f.index, str(e)))))
    assert [f.index for f, _ in out] == [i for i in range(20) if i != 7]
    assert failed == [(7, "black frame")]
    for frame, poses in out:
        assert poses.box_scores[0] == pytest.approx(values[frame.index] / 255, rel=1e-6)


def test_run_without_error_handler_raises() -> None:
    pipeline = Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False)
    with pytest.raises(ValueError, match="black frame"):
        list(pipeline.run(frames([5, 0, 5])))


def test_reader_errors_reach_the_consumer() -> None:
    def broken():
        yield from frames([5])
        raise OSError("disk gone")

    pipeline = Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False)
    with pytest.raises(OSError, match="disk gone"):
        list(pipeline.run(broken()))


def test_person_score_over_body_parts_and_layout_conversion() -> None:
    pipeline = Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False, layout="halpe26")
    poses = pipeline.predict(np.full((8, 8, 3), 153, np.uint8))
    assert poses.layout == "halpe26" and poses.keypoints.shape == (1, 26, 2)
    s = 153 / 255
    # body + feet of coco17 = the 17 points, all scored s: mean + box + 1.25 max
    assert poses.scores[0] == pytest.approx(s + s + 1.25 * s, rel=1e-5)


def test_unknown_nms_method_is_refused() -> None:
    with pytest.raises(ValueError, match="pose_nms"):
        Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False, pose_nms="greedy")


class TrackingCornerPose(CornerPose):
    """CornerPose that can re-estimate tracked people (moving them 1 px right)."""

    supports_tracking = True

    def __call__(self, image, detections, tracked=None):
        poses = super().__call__(image, detections)
        if tracked is not None:
            moved = Poses(tracked.keypoints + [1, 0], tracked.keypoint_scores, tracked.xyxy,
                          tracked.box_scores, layout=self.layout)
            poses = poses.concat(moved) if len(poses) else moved
        return poses

    @staticmethod
    def tracked_people(poses: Poses) -> Poses:
        """The next frame starts from this frame's poses."""
        return poses


class CountingDetector(BoxPerBrightFrame):
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return super().__call__(image)


def video_frames(count: int, path: str = "v.mp4") -> list[Frame]:
    return [Frame(np.full((8, 8, 3), 200, np.uint8), i, f"{i}.jpg", path=path, source=path)
            for i in range(count)]


@pytest.mark.parametrize("every,calls", [(1, 12), (5, 3), (4, 3)], ids=["1", "5", "4"])
def test_detect_every_tracks_between_detection_frames(every: int, calls: int) -> None:
    detector = CountingDetector()
    pipeline = Pipeline(detector, TrackingCornerPose(), pose_nms="none", detect_every=every)
    out = list(pipeline.run(video_frames(12)))
    assert detector.calls == calls
    for frame, poses in out:
        assert len(poses) == 1  # tracked frames keep the person; detection frames start afresh
        assert poses.keypoints[0, 0, 0] == pytest.approx(frame.index % every)


def test_still_images_always_run_the_detector() -> None:
    detector = CountingDetector()
    pipeline = Pipeline(detector, TrackingCornerPose(), pose_nms="none", detect_every=5)
    images = [Frame(np.full((8, 8, 3), 200, np.uint8), i, f"{i}.jpg", path=f"{i}.jpg")
              for i in range(6)]
    list(pipeline.run(images))
    assert detector.calls == 6


def test_detect_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="detect_every"):
        Pipeline(BoxPerBrightFrame(), CornerPose(), low_light=False, detect_every=0)


class HandsOffPose(CornerPose):
    """Halpe-26 poses whose feet score 0 (like hands the embedded estimator could not find)."""

    layout = "halpe26"

    def __call__(self, image, detections):
        n = len(detections)
        keypoints = np.repeat(detections.xyxy[:, None, :2], 26, 1) + np.arange(26)[None, :, None]
        scores = np.full((n, 26), 0.8, np.float32)
        scores[:, 20:] = 0.0  # the six foot points
        return Poses(keypoints, scores, detections.xyxy, detections.scores, layout=self.layout)


@pytest.mark.parametrize("parts,expected", [(None, 20 * 0.8 / 26 + 0.6 + 1.25 * 0.8),
                                            (("body",), 0.8 + 0.6 + 1.25 * 0.8)],
                         ids=["official-all-keypoints", "estimator-body-only"])
def test_person_score_parts_follow_the_estimator(parts, expected) -> None:
    estimator = HandsOffPose()
    if parts is not None:
        estimator.person_score_parts = parts
    pipeline = Pipeline(BoxPerBrightFrame(), estimator, low_light=False, pose_nms="none")
    poses = pipeline.predict(np.full((8, 8, 3), 153, np.uint8))
    assert poses.scores[0] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("value", "seen"), [(30, 102), (63, 102), (64, 64), (200, 200)],
                         ids=["dark", "just-dark", "just-bright", "bright"])
def test_models_see_dark_frames_brightened_and_outputs_keep_the_frame(value: int,
                                                                      seen: int) -> None:
    # mean luminance below 0.25 (63.75 of 255): a gain to 0.4 (102); brighter frames unchanged
    seen_by: dict[str, float] = {}

    class Recorder(CornerPose):
        def __call__(self, image: np.ndarray, detections: Detections) -> Poses:
            seen_by["estimator"] = float(image.mean())
            return super().__call__(image, detections)

    for sp in (True, False):
        pipeline = Pipeline(BoxPerBrightFrame(), Recorder(), pose_nms="none",
                            run=RunOptions(sp=sp))
        (frame, poses), = list(pipeline.run(frames([value])))
        assert poses.box_scores[0] == pytest.approx(seen / 255, abs=1e-6)  # the detector's view
        assert seen_by["estimator"] == pytest.approx(seen, abs=0.5)
        assert frame.image.mean() == value  # the frame (rendered, written) is untouched
