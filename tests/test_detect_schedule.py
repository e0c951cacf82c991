"""Which video frames run the detector: every ``detect_every``-th, spaced out (``detect_backoff``)
while detection frames find only the people already followed."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.pipeline import Pipeline, RunOptions
from alphapose.structures import Detections, Frame, Poses


class CrowdDetector:
    """``people(index)`` boxes on the frame whose first pixel holds ``index``."""

    def __init__(self, people) -> None:
        self.people = people

    def __call__(self, image: np.ndarray) -> Detections:
        count = self.people(int(image[0, 0, 0]))
        xyxy = np.array([[20.0 * k, 0, 20.0 * k + 10, 10] for k in range(count)]).reshape(-1, 4)
        return Detections(xyxy, np.full(count, 0.9))


class Following:
    """Follows the previous frame's people (1 px right per frame); records on which frames it
    started from detections; ``same_people`` compares how many there are."""

    layout = "coco17"
    supports_tracking = True

    def __init__(self) -> None:
        self.detected_on: list[int] = []

    def __call__(self, image, detections, tracked=None):
        if tracked is None:
            self.detected_on.append(int(image[0, 0, 0]))
            keypoints = (np.repeat(detections.xyxy[:, None, :2], 17, 1)
                         + np.arange(17)[None, :, None])
            return Poses(keypoints.astype(np.float32), np.full((len(detections), 17), 0.8),
                         detections.xyxy, detections.scores, layout=self.layout)
        return Poses(tracked.keypoints + [1, 0], tracked.keypoint_scores, tracked.xyxy + 1,
                     tracked.box_scores, layout=self.layout)

    @staticmethod
    def tracked_people(poses: Poses) -> Poses:
        return poses

    @staticmethod
    def same_people(before: Poses, after: Poses) -> bool:
        return len(before) == len(after)


def frames(count: int, path: str = "a.mp4") -> list[Frame]:
    return [Frame(np.full((16, 16, 3), i, np.uint8), i, f"{i}.jpg", path=path, source=path)
            for i in range(count)]


def detection_frames(people, count: int, sp: bool = True, **kwargs) -> tuple[list[int], list]:
    estimator = Following()
    pipeline = Pipeline(CrowdDetector(people), estimator, pose_nms="none", low_light=False,
                        run=RunOptions(sp=sp, qsize=2), **kwargs)
    out = [poses.keypoints.copy() for _, poses in pipeline.run(frames(count))]
    return estimator.detected_on, out


def test_detection_frames_space_out_while_nobody_new_appears() -> None:
    # the same person all along: the interval doubles after each detection frame that finds
    # only them (5 -> 10 -> 20, at most 5 x 4)
    assert detection_frames(lambda i: 1, 60)[0] == [0, 5, 15, 35, 55]
    # detect_backoff=1: every 5th frame, as before
    assert detection_frames(lambda i: 1, 60, detect_backoff=1)[0] == list(range(0, 60, 5))
    assert detection_frames(lambda i: 1, 30, detect_every=3, detect_backoff=2)[0] == \
        [0, 3, 9, 15, 21, 27]


def test_a_new_person_brings_detection_back_to_every_fifth_frame() -> None:
    # a second person from frame 20: the detection frame at 35 finds them (two people where one
    # was followed), so 40 detects again; from there the two are followed and it spaces out
    found, poses = detection_frames(lambda i: 1 if i < 20 else 2, 60)
    assert found == [0, 5, 15, 35, 40, 50]
    assert [len(p) for p in poses[34:37]] == [1, 2, 2]


def test_schedule_depends_on_results_not_on_threads() -> None:
    # the threaded run detects ahead on the frames it expects; the frames whose detections are
    # used, and every pose, are the sp run's
    people = lambda i: 1 if i < 20 else 2
    single, single_poses = detection_frames(people, 60, sp=True)
    multi, multi_poses = detection_frames(people, 60, sp=False)
    assert multi == single
    for a, b in zip(single_poses, multi_poses, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_new_video_starts_the_schedule_again() -> None:
    estimator = Following()
    pipeline = Pipeline(CrowdDetector(lambda i: 1), estimator, pose_nms="none",
                        low_light=False, run=RunOptions(sp=True))
    for _ in pipeline.run(frames(40, "a.mp4") + frames(12, "b.mp4")):
        pass
    assert estimator.detected_on == [0, 5, 15, 35, 0, 5]


def test_detect_backoff_must_be_positive() -> None:
    with pytest.raises(ValueError, match="detect_backoff"):
        Pipeline(CrowdDetector(lambda i: 1), Following(), detect_backoff=0)
