"""The stage contracts (alphapose.stages): every detector and estimator of the package goes
through the same checks, the capabilities the pipeline reads match what the objects do, and
each runs inside a Pipeline through those capabilities only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphapose.pipeline import Pipeline, RunOptions
from alphapose.skeletons import get_layout
from alphapose.stages import (
    BatchDetector,
    Detector,
    NamedDetector,
    PoseEstimator,
    StagedEstimator,
    TrackingEstimator,
    describe_detector,
    describe_estimator,
)
from alphapose.structures import Detections, Frame, Poses

IMAGE_NAME = "astronaut.jpg"


def _same_boxes(a: Detections, b: Detections) -> None:
    """Equal sets of boxes up to float noise, whatever the order of tied scores."""
    assert len(a) == len(b)
    if len(a) == 0:
        return
    from scipy.optimize import linear_sum_assignment

    rows_a = np.concatenate([a.xyxy, 100 * a.scores[:, None]], 1).astype(np.float64)
    rows_b = np.concatenate([b.xyxy, 100 * b.scores[:, None]], 1).astype(np.float64)
    cost = np.abs(rows_a[:, None] - rows_b[None]).max(-1)
    i, j = linear_sum_assignment(cost)
    assert cost[i, j].max() < 1e-2


def check_detector(detector, image: np.ndarray) -> Detections:
    """The detector contract on one image; returns its detections."""
    info = describe_detector(detector)
    assert info.by_name == (isinstance(detector, NamedDetector)
                            and bool(detector.uses_frame_name))
    assert info.batches == (isinstance(detector, BatchDetector) and not info.by_name)

    def call(pixels: np.ndarray) -> Detections:
        return detector(pixels, name=IMAGE_NAME) if info.by_name else detector(pixels)

    if not info.by_name:
        assert isinstance(detector, Detector)
    found = call(image)
    assert isinstance(found, Detections)
    n = len(found)
    assert found.xyxy.shape == (n, 4) and found.scores.shape == (n,)
    assert np.isfinite(found.xyxy).all() and np.isfinite(found.scores).all()
    assert (found.xyxy[:, 2] >= found.xyxy[:, 0]).all()
    assert (found.xyxy[:, 3] >= found.xyxy[:, 1]).all()
    assert ((found.scores >= 0) & (found.scores <= 1)).all()
    _same_boxes(call(image), found)  # no state carried between calls
    blank = call(np.zeros_like(image))
    assert isinstance(blank, Detections) and np.isfinite(blank.xyxy).all()
    if info.batches:
        batch = detector.detect([image, np.zeros_like(image), image])
        assert len(batch) == 3
        _same_boxes(batch[0], found)
        _same_boxes(batch[2], found)
        _same_boxes(batch[1], blank)
    return found


def check_estimator(estimator, image: np.ndarray, detections: Detections) -> Poses:
    """The estimator contract on one image and its detections; returns its poses."""
    info = describe_estimator(estimator)
    assert isinstance(estimator, PoseEstimator) and info.layout == estimator.layout
    assert info.staged == isinstance(estimator, StagedEstimator)
    assert info.tracking == (isinstance(estimator, TrackingEstimator)
                             and estimator.supports_tracking)
    k = get_layout(info.layout).num_keypoints
    poses = estimator(image, detections)
    assert isinstance(poses, Poses) and poses.layout == info.layout
    n = len(poses)
    assert 0 < n <= len(detections)
    assert poses.keypoints.shape == (n, k, 2) and poses.keypoint_scores.shape == (n, k)
    assert np.isfinite(poses.keypoints).all()
    assert ((poses.keypoint_scores >= 0) & (poses.keypoint_scores <= 1)).all()
    for name in ("world", "masks"):
        field = {"world": "keypoints_3d", "masks": "masks"}[name]
        assert (getattr(poses, field) is not None) == (name in info.extra_outputs)
    nobody = estimator(image, Detections.empty())
    assert len(nobody) == 0 and nobody.keypoints.shape == (0, k, 2)
    if info.staged:  # the two steps give what one call gives
        people = estimator.find_people(image, detections, None, None)
        staged = estimator.start_parts(image, people, None)()
        np.testing.assert_allclose(staged.keypoints, poses.keypoints, atol=1e-4)
        np.testing.assert_allclose(staged.keypoint_scores, poses.keypoint_scores, atol=1e-5)
        if info.tracking:  # the people found are followed into the next frame, no detector
            followed = estimator(image, Detections.empty(),
                                 tracked=estimator.tracked_people(people))
            assert len(followed) == n
            size = np.ptp(poses.keypoints[:, :17], axis=1).max()
            assert np.abs(followed.keypoints[:, :17] - poses.keypoints[:, :17]).max() < size
    if info.replicable:
        copy = estimator.replicate(num_threads=1)
        assert copy is not estimator
        np.testing.assert_allclose(copy(image, detections).keypoints, poses.keypoints, atol=1e-3)
    return poses


def check_in_pipeline(detector, estimator, image: np.ndarray, expected: Poses) -> None:
    """Single-threaded and threaded pipelines (pose NMS off) give the estimator's own poses."""
    frame = Frame(image, 0, IMAGE_NAME, path=IMAGE_NAME)
    for sp in (True, False):
        pipeline = Pipeline(detector, estimator, pose_nms="none", low_light=False,
                            run=RunOptions(sp=sp, workers=2))
        (_, poses), = list(pipeline.run([frame]))
        assert len(poses) == len(expected)
        np.testing.assert_allclose(np.sort(poses.keypoints[:, :, 0].ravel()),
                                   np.sort(expected.keypoints[:, :, 0].ravel()), atol=1e-3)


# -- detectors ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image(astronaut_bgr) -> np.ndarray:
    return astronaut_bgr


def test_embedded_detector(embedded_models, image) -> None:
    from alphapose.detection.blaze import BlazePersonDetector

    found = check_detector(BlazePersonDetector(num_threads=1), image)
    assert len(found) >= 1 and found.keypoints is not None


def test_nanodet_and_fused_detectors(embedded_models, nanodet_model, image) -> None:
    from alphapose.detection.fused import default_detector
    from alphapose.detection.nanodet import NanoDetDetector

    assert len(check_detector(NanoDetDetector(num_threads=1), image)) >= 1
    fused, name = default_detector(num_threads=1)
    assert name == "fused" and len(check_detector(fused, image)) >= 1


def test_file_detector(tmp_path: Path, image) -> None:
    from alphapose.detection.from_file import FileDetector

    path = tmp_path / "detections.json"
    path.write_text(json.dumps([{"image_id": IMAGE_NAME, "bbox": [150, 20, 200, 480],
                                 "score": 0.9},
                                {"image_id": "other.jpg", "bbox": [0, 0, 5, 5], "score": 0.5}]))
    found = check_detector(FileDetector(path), image)
    np.testing.assert_allclose(found.xyxy, [[150, 20, 350, 500]])


def test_yolox_detector(image) -> None:
    pytest.importorskip("torch")
    from alphapose.detection.yolox import YOLOXConfig, YOLOXDetector, build_yolox

    detector = YOLOXDetector("yolox-nano", config=YOLOXConfig(input_size=64),
                             model=build_yolox("yolox-nano"))
    check_detector(detector, image)


def test_yolov3_detector(tmp_path: Path, image) -> None:
    pytest.importorskip("torch")
    from test_yolov3 import TINY_CFG, write_weights

    from alphapose.detection.yolov3 import YOLOv3Config, YOLOv3Detector

    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    write_weights(tmp_path / "tiny.weights", seed=3)
    check_detector(YOLOv3Detector(cfg, tmp_path / "tiny.weights", YOLOv3Config(input_size=64)),
                   image)


# -- estimators ---------------------------------------------------------------------------------

def test_embedded_estimator(embedded_models, image) -> None:
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

    detector = BlazePersonDetector(num_threads=1)
    estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=1, world=True, masks=True))
    info = describe_estimator(estimator)
    assert info.staged and info.tracking and info.replicable and info.single_threaded
    assert info.extra_outputs == {"world", "masks"} and info.person_score_parts == ("body", "foot")
    poses = check_estimator(estimator, image, detector(image))
    check_in_pipeline(detector, estimator, image, poses)


def test_network_estimator() -> None:
    from test_network_estimator import (
        INPUT,
        PEOPLE,
        SIGMA,
        SamplingBackend,
        colour_of_keypoint,
        draw_blob,
    )

    from alphapose.codecs import IntegralRegressionCodec
    from alphapose.estimators.network import NetworkPoseEstimator

    image = np.zeros((200, 300, 3), np.uint8)
    for _, blobs in PEOPLE:
        for rgb_channel, (x, y) in enumerate(blobs):
            draw_blob(image, 2 - rgb_channel, x, y, SIGMA)
    detections = Detections(np.stack([box for box, _ in PEOPLE]).astype(np.float32),
                            np.array([0.9, 0.8], np.float32))
    estimator = NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()),
                                     IntegralRegressionCodec("divide_sum"), "coco17",
                                     input_size=INPUT)
    info = describe_estimator(estimator)
    assert info.staged and not info.tracking and not info.replicable and info.regression
    poses = check_estimator(estimator, image, detections)

    def given(pixels: np.ndarray) -> Detections:
        return detections

    check_in_pipeline(given, estimator, image, poses)


def test_a_plain_function_is_an_estimator_without_capabilities() -> None:
    def estimate(image: np.ndarray, detections: Detections) -> Poses:
        return Poses(np.zeros((len(detections), 17, 2)), np.full((len(detections), 17), 0.5),
                     detections.xyxy, detections.scores, layout="coco17")

    info = describe_estimator(estimate)
    assert not (info.staged or info.tracking or info.replicable) and info.layout is None
    with pytest.raises(TypeError, match="estimator"):
        describe_estimator(object())
    with pytest.raises(TypeError, match="detector"):
        describe_detector(object())
