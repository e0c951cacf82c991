"""NanoDet person detector: cell layout, distribution decoding, planted network outputs through
the whole detector (hand-computed boxes), and the real converted model on a COCO image."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import helper, numpy_helper

from alphapose.detection.nanodet import (
    MEAN_BGR,
    STD_BGR,
    NanoDetConfig,
    NanoDetDetector,
    cell_centres,
    decode_boxes,
    expected_distances,
    preprocess,
)
from alphapose.detection.nms import box_iou


def one_hot_logits(bins: list[int], n_bins: int = 11) -> np.ndarray:
    """Distribution logits putting all the mass of each side on one bin."""
    logits = np.full(4 * n_bins, -1e4, np.float32)
    for side, k in enumerate(bins):
        logits[side * n_bins + k] = 0.0
    return logits


def test_cell_centres_are_row_major_cell_middles() -> None:
    centres, strides = cell_centres(32, (8, 16))
    assert centres.shape == (16 + 4, 2) and strides.tolist() == [8.0] * 16 + [16.0] * 4
    assert centres[9].tolist() == [12.0, 20.0]      # level 0, x=1, y=2
    assert centres[16 + 3].tolist() == [24.0, 24.0]  # level 1, x=1, y=1


def test_cell_centres_refuse_a_stride_that_does_not_divide_the_input() -> None:
    with pytest.raises(ValueError, match="strides: expected positive divisors of 30"):
        cell_centres(30, (8,))


def test_expected_distance_is_the_mean_of_the_softmax() -> None:
    logits = np.zeros((1, 44), np.float32)            # uniform: mean 5 bins
    logits[0, 11:22] = np.log(np.arange(1, 12))       # p_k proportional to k + 1
    k = np.arange(11)
    expected = [5.0, float((k * (k + 1)).sum() / (k + 1).sum()), 5.0, 5.0]
    np.testing.assert_allclose(expected_distances(logits)[0], expected, rtol=1e-6)


def test_expected_distances_check_the_width() -> None:
    with pytest.raises(ValueError, match=r"distributions: expected shape \(N, 44\)"):
        expected_distances(np.zeros((3, 40)))


def test_decode_boxes_scales_by_the_stride() -> None:
    logits = np.stack([one_hot_logits([1, 1, 2, 0]), one_hot_logits([1, 1, 0, 0])])
    boxes = decode_boxes(logits, np.array([[12.0, 20.0], [24.0, 24.0]]), np.array([8.0, 16.0]))
    np.testing.assert_allclose(boxes, [[4, 12, 28, 20], [8, 8, 24, 24]], atol=1e-4)


def test_preprocess_is_bgr_normalised_and_letterboxed() -> None:
    image = np.zeros((20, 40, 3), np.uint8)
    image[..., 0] = 255                                # blue
    tensor, transform = preprocess(image, 32)
    assert tensor.shape == (1, 3, 32, 32) and tensor.dtype == np.float32
    # blue in channel 0; the 8-row padding above and below is black
    assert tensor[0, 0, 16, 16] == pytest.approx((255 - MEAN_BGR[0]) / STD_BGR[0], abs=1e-5)
    assert tensor[0, 2, 16, 16] == pytest.approx(-MEAN_BGR[2] / STD_BGR[2], abs=1e-5)
    assert tensor[0, 0, 2, 16] == pytest.approx(-MEAN_BGR[0] / STD_BGR[0], abs=1e-5)
    assert transform.scale == pytest.approx(0.8)


def test_preprocess_refuses_non_bgr_images() -> None:
    wanted = r"image: expected a uint8 BGR array of shape \(H, W, 3\), got "
    with pytest.raises(TypeError, match=wanted + "float32"):
        preprocess(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=wanted + r"uint8 array of shape \(4, 4\)"):
        preprocess(np.zeros((4, 4), np.uint8))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"score_threshold": 1.5}, "score_threshold: expected a value in"),
    ({"nms_iou": 0.0}, "nms_iou: expected a value in"),
    ({"max_detections": 0}, "max_detections: expected at least 1"),
    ({"person_class": 80}, "person_class: expected a COCO class index"),
], ids=["score", "nms", "max", "class"])
def test_config_validation(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        NanoDetConfig(**kwargs)


# -- planted outputs through the detector ----------------------------------------------------


def planted_model(path: Path, outputs: dict[str, np.ndarray], size: int = 32) -> Path:
    """An ONNX graph with NanoDet's input and outputs whose values are planted constants
    (``output = 0 * sum(input) + constant``)."""
    nodes = [helper.make_node("ReduceSum", ["input_1"], ["total"], keepdims=0),
             helper.make_node("Mul", ["total", "zero"], ["nothing"])]
    inits = [numpy_helper.from_array(np.float32(0), "zero")]
    infos = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", ["nothing", f"{name}_value"], [name]))
        infos.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, value.shape))
    graph = helper.make_graph(nodes, "planted", [helper.make_tensor_value_info(
        "input_1", onnx.TensorProto.FLOAT, [1, 3, size, size])], infos, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture()
def planted(tmp_path) -> Path:
    """32 x 32 input, strides 8 and 16 (16 + 4 cells):

    * level 0, cell 9 (x=1, y=2, centre (12, 20)): person 0.9, sides (1, 1, 2, 0) x 8 ->
      input box (4, 12, 28, 20);
    * level 0, cell 10 (centre (20, 20)): person 0.8, sides (2, 1, 1, 0) x 8 -> the same box
      (NMS removes it);
    * level 0, cell 0: class 1 at 0.95 but person 0.1 (not a person);
    * level 1, cell 3 (x=1, y=1, centre (24, 24)): person 0.5, sides (1, 1, 0, 0) x 16 ->
      input box (8, 8, 24, 24) (IoU 0.4 with the first: kept).
    """
    scores0, boxes0 = np.zeros((1, 16, 80)), np.zeros((1, 16, 44))
    scores1, boxes1 = np.zeros((1, 4, 80)), np.zeros((1, 4, 44))
    scores0[0, 9, 0], boxes0[0, 9] = 0.9, one_hot_logits([1, 1, 2, 0])
    scores0[0, 10, 0], boxes0[0, 10] = 0.8, one_hot_logits([2, 1, 1, 0])
    scores0[0, 0, :2] = 0.1, 0.95
    scores1[0, 3, 0], boxes1[0, 3] = 0.5, one_hot_logits([1, 1, 0, 0])
    # output order shuffled on purpose: the detector finds the levels by their shapes
    return planted_model(tmp_path / "planted.onnx", {
        "boxes_16": boxes1, "scores_8": scores0, "scores_16": scores1, "boxes_8": boxes0})


def test_planted_outputs_give_hand_computed_image_boxes(planted) -> None:
    detector = NanoDetDetector(model_file=planted, num_threads=1)
    assert detector.input_size == 32 and detector.centres.shape == (20, 2)
    # 64 x 32 image -> scale 0.5, 8 rows of padding on top: input edge e -> image (e - pad) / 0.5,
    # minus 0.5 for pixel-centre coordinates, clipped to [-0.5, W - 0.5] x [-0.5, H - 0.5]
    detections = detector(np.zeros((32, 64, 3), np.uint8))
    np.testing.assert_allclose(detections.xyxy, [[7.5, 7.5, 55.5, 23.5],
                                                 [15.5, -0.5, 47.5, 31.5]], atol=1e-3)
    np.testing.assert_allclose(detections.scores, [0.9, 0.5], atol=1e-6)


@pytest.mark.parametrize(("config", "count"), [
    (NanoDetConfig(score_threshold=0.6), 1),
    (NanoDetConfig(max_detections=1), 1),
    (NanoDetConfig(nms_iou=1.0), 3),              # nothing suppressed: the duplicate stays
    (NanoDetConfig(score_threshold=0.05, person_class=1), 1),
], ids=["threshold", "max-detections", "no-nms", "other-class"])
def test_planted_outputs_follow_the_config(planted, config, count) -> None:
    detector = NanoDetDetector(config, model_file=planted, num_threads=1)
    assert len(detector(np.zeros((32, 64, 3), np.uint8))) == count


def test_detect_runs_each_image(planted) -> None:
    detector = NanoDetDetector(model_file=planted, num_threads=1)
    images = [np.zeros((32, 64, 3), np.uint8), np.zeros((64, 32, 3), np.uint8)]
    batch = detector.detect(images)
    for one, image in zip(batch, images, strict=True):
        np.testing.assert_array_equal(one.xyxy, detector(image).xyxy)
    with pytest.raises(TypeError, match="images: expected a list of images"):
        detector.detect(images[0])


def test_a_model_without_nanodet_outputs_is_refused(tmp_path) -> None:
    path = planted_model(tmp_path / "odd.onnx", {"scores": np.zeros((1, 16, 80))})
    with pytest.raises(ValueError, match="expected per level a \\(1, cells, C\\) score output"):
        NanoDetDetector(model_file=path)


# -- the real model --------------------------------------------------------------------------

#: The people of COCO val2017 000000196141.jpg, as their annotated boxes (x, y, w, h):
#: the man in the middle, the woman bottom right, the person at the left edge, the person
#: in the back on the right.
PEOPLE_196141 = [(248, 74, 170, 301), (454, 207, 177, 211), (36, 68, 30, 96),
                 (556, 100, 48, 113)]


def test_real_nanodet_finds_the_people_of_a_coco_image(shared_data, nanodet_model) -> None:
    image = cv2.imread(str(shared_data / "mmpose" / "coco" / "000000196141.jpg"))
    detector = NanoDetDetector(model_file=nanodet_model, num_threads=1)
    detections = detector(image)
    people = np.array([(x, y, x + w, y + h) for x, y, w, h in PEOPLE_196141], np.float32)
    iou = box_iou(people, detections.xyxy)
    assert (iou.max(axis=1) >= 0.6).all(), iou.max(axis=1)
    assert ((detections.scores > 0) & (detections.scores <= 1)).all()
    w = image.shape[1]
    assert (detections.xyxy >= -0.5).all() and (detections.xyxy[:, 2] <= w - 0.5).all()
    # converted once: the cached ONNX and its record sit beside the JSON
    record = json.loads(nanodet_model.with_suffix(".onnx.json").read_text())
    assert record["source"] == "nanodet.json" and len(record["sha256"]) == 64


def test_tiles_find_the_small_pedestrians_of_a_1080p_street(shared_data, nanodet_model) -> None:
    # MOT17-02: pedestrians 84-116 px tall shrink to 18-25 px in the 416 px whole-frame input;
    # the tiles (side = frame height) show them at 38-52 px.
    import cv2

    from alphapose.detection.nms import box_iou

    root = shared_data / "boxmot/MOT17-mini/train/MOT17-02-FRCNN"
    gt = np.loadtxt(root / "gt/gt.txt", delimiter=",")
    rows = gt[(gt[:, 0] == 1) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
    boxes = np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]]
    image = cv2.imread(str(root / "img1/000001.jpg"))
    found = {}
    for tiles in ("none", "auto"):
        detector = NanoDetDetector(NanoDetConfig(tiles=tiles), model_file=nanodet_model,
                                   num_threads=1)
        detections = detector(image)
        iou = box_iou(boxes, detections.xyxy) if len(detections) else np.zeros((len(boxes), 0))
        found[tiles] = int((iou.max(1, initial=0) >= 0.5).sum())
    assert detector.tiles(1080, 1920) == [(0, 0, 1080), (420, 0, 1080), (840, 0, 1080)]
    assert found["auto"] >= found["none"] + 3


def test_tiles_are_validated() -> None:
    with pytest.raises(ValueError, match="tiles"):
        NanoDetConfig(tiles="always")
    with pytest.raises(ValueError, match="tile_scales"):
        NanoDetConfig(tile_scales=(0.0,))
