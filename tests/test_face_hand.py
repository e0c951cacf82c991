"""Face and hand stages of the embedded default: crop geometry and real-data accuracy.

Accuracy thresholds come from measurements on the data beside the repository (with the defaults:
second pass on, face crop 1.5, hand crop 2.0 / -0.3):

* faces, crop from the ground-truth eye centres / nose tip / mouth corners / jaw ends standing in
  for the body model's points: NME (mean error over the outer-eye-corner distance) 0.074 on the
  18 dlib example faces (worst face 0.116) and 0.057 on the two 300-W faces; the thresholds
  (0.10, 0.08, 0.20 for any face) leave about 35 % headroom. Rotating the image by 90 or 180
  degrees changes nothing (the crop is rotation-aligned).
* hands, crop from the ground-truth wrist / index knuckle / pinky knuckle (points 0, 5, 17): on
  FreiHAND (8 images, two hand poses) PCK@0.2 of the hand size 0.88 (full) / 0.79 (lite), mean
  error 0.12 of the hand size (FreiHAND's MANO-fitted knuckles and wrist sit about 0.2 hand sizes
  from where the model puts them, which bounds this); OneHand10K image 1402 (the only one whose
  three seed points are all labelled) 0.04. From an axis-aligned box 1.5 times the labelled box,
  the second pass realigns the crop: PCK@0.2 0.99 on the four OneHand10K hands.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.estimators.face_hand import (
    FACE_MESH_TO_68,
    FaceLandmarker,
    HandLandmarker,
    face_rect_from_mesh,
    face_rect_from_points,
    hand_rect_from_body,
    hand_rect_from_landmarks,
    hand_rect_from_recrop,
)
from alphapose.transforms import RotatedRect, apply_affine, crop_from_img_matrix

# ------------------------------------------------------------------------------------ helpers


def _rotation_matrix(angle: float, origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix turning points by ``angle`` (radians, image coordinates) about ``origin``."""
    c, s = np.cos(angle), np.sin(angle)
    linear = np.array([[c, -s], [s, c]])
    o = np.asarray(origin, np.float64)
    return np.hstack([linear, (o - linear @ o)[:, None]])


def _in_crop(rect: RotatedRect, points: np.ndarray) -> np.ndarray:
    """Points mapped into the rect's unit square [0, 1]^2 (crop-edge coordinates)."""
    crop = apply_affine(points, crop_from_img_matrix(rect, 100, 100))
    return (crop + 0.5) / 100.0


def _up_in_image(rect: RotatedRect) -> np.ndarray:
    """Unit vector of the crop's "up" (-y) direction in the image."""
    return np.array([np.sin(rect.rotation), -np.cos(rect.rotation)])


FRONTAL_FACE = {"left_eye": (120.0, 100.0), "right_eye": (80.0, 100.0), "nose": (100.0, 120.0),
                "mouth_left": (115.0, 140.0), "mouth_right": (85.0, 140.0)}


def _turn(points: dict, matrix: np.ndarray) -> dict:
    return {k: apply_affine(np.asarray(v, np.float64), matrix) for k, v in points.items()}


# ------------------------------------------------------------------------ face crop geometry


def test_face_mesh_to_68_table():
    assert FACE_MESH_TO_68.shape == (68, 2)
    assert FACE_MESH_TO_68.min() >= 0 and FACE_MESH_TO_68.max() < 468
    # the outer eye corners are the mesh vertices MediaPipe's graphs name as such (33, 263)
    assert tuple(FACE_MESH_TO_68[36]) == (33, 33) and tuple(FACE_MESH_TO_68[45]) == (263, 263)
    # the 17 jaw points are distinct vertices
    assert len(set(map(tuple, FACE_MESH_TO_68[:17]))) == 17


def test_face_rect_upright_face():
    rect = face_rect_from_points(**FRONTAL_FACE)
    assert rect.rotation == pytest.approx(0.0, abs=1e-9)
    assert rect.width == pytest.approx(rect.height)
    # eye distance 40, eye-to-mouth 40: the face size is the larger of 3.0 x 40 and 2.6 x 40
    assert rect.width == pytest.approx(1.5 * 3.0 * 40.0)
    # centred on the face's axis, a little above the middle of eyes (y=100) and mouth (y=140)
    assert rect.cx == pytest.approx(100.0)
    assert 115.0 < rect.cy < 120.0


@pytest.mark.parametrize("degrees", [30, 90, 180, -120], ids=lambda d: f"{d}deg")
def test_face_rect_turns_with_the_face(degrees):
    angle = np.deg2rad(degrees)
    matrix = _rotation_matrix(angle, (50.0, 70.0))
    upright = face_rect_from_points(**FRONTAL_FACE)
    turned = face_rect_from_points(**_turn(FRONTAL_FACE, matrix))
    assert np.cos(turned.rotation - angle) == pytest.approx(1.0)
    assert turned.width == pytest.approx(upright.width)
    centre = apply_affine(np.array([upright.cx, upright.cy]), matrix)
    np.testing.assert_allclose([turned.cx, turned.cy], centre, atol=1e-3)


def test_face_rect_ears_widen_and_nose_shifts():
    plain = face_rect_from_points(**FRONTAL_FACE)
    wide = face_rect_from_points(**FRONTAL_FACE, left_ear=(170.0, 110.0), right_ear=(30.0, 110.0))
    assert wide.width == pytest.approx(1.5 * 1.2 * 140.0)  # ear distance dominates
    assert wide.width > plain.width
    # a head turned towards image-right: the nose moves right, the face box moves left
    turned = face_rect_from_points(**{**FRONTAL_FACE, "nose": (110.0, 120.0)})
    assert turned.cx < plain.cx


def test_face_rect_splits_the_angle_between_eyes_and_mouth_line():
    # a turned head: the eyes close up and tilt, the eye-to-mouth line still says "upright";
    # the crop takes the bisector of the two directions
    turned = {**FRONTAL_FACE, "left_eye": (103.0, 101.0), "right_eye": (97.0, 99.0)}
    rect = face_rect_from_points(**turned)
    assert rect.rotation == pytest.approx(0.5 * np.arctan2(2.0, 6.0))
    # the eye-to-mouth distance (about 40) keeps the size although the eyes are 6 px apart
    assert rect.width >= 1.5 * 2.6 * 39.0


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"nose": (1.0, 2.0, 3.0)}, "nose"),
        ({"left_eye": (np.nan, 1.0)}, "left_eye"),
        ({"left_ear": (0.0, 0.0)}, "left_ear, right_ear"),
        ({"scale": 0.0}, "scale"),
        ({"left_eye": (0.0, 0.0), "right_eye": (0.0, 0.0), "nose": (0.0, 0.0),
          "mouth_left": (0.0, 0.0), "mouth_right": (0.0, 0.0)}, "coincide"),
    ],
    ids=["bad-shape", "nan", "one-ear", "zero-scale", "degenerate"],
)
def test_face_rect_rejects_bad_input(change, error):
    with pytest.raises(ValueError, match=error):
        face_rect_from_points(**{**FRONTAL_FACE, **change})


@pytest.mark.parametrize("degrees", [0, 37, 180], ids=lambda d: f"{d}deg")
def test_face_rect_from_mesh(degrees):
    rng = np.random.default_rng(0)
    mesh = rng.uniform([60, 40], [140, 160], (468, 2))
    mesh[33], mesh[263] = (70.0, 90.0), (130.0, 90.0)  # outer eye corners, level
    angle = np.deg2rad(degrees)
    mesh = apply_affine(mesh, _rotation_matrix(angle, (100.0, 100.0)))
    rect = face_rect_from_mesh(mesh)
    assert np.cos(rect.rotation - angle) == pytest.approx(1.0)
    assert rect.width == pytest.approx(rect.height)
    unit = _in_crop(rect, mesh)
    # a 1.5 x enlargement of the long side leaves at least 1/6 of the crop free on each side
    assert unit.min() >= 1 / 6 - 1e-3 and unit.max() <= 5 / 6 + 1e-3
    with pytest.raises(ValueError, match="mesh"):
        face_rect_from_mesh(mesh[:100])


# ------------------------------------------------------------------------ hand crop geometry


@pytest.mark.parametrize(
    ("wrist", "index", "pinky", "rotation"),
    [
        ((100, 200), (95, 150), (110, 150), 0.0),              # fingers up
        ((100, 100), (150, 95), (150, 110), np.pi / 2),        # fingers to the image's right
        ((100, 100), (105, 150), (90, 150), np.pi),            # fingers down
        ((100, 100), (50, 105), (50, 90), -np.pi / 2),         # fingers to the left
    ],
    ids=["up", "right", "down", "left"],
)
def test_hand_rect_points_up_the_fingers(wrist, index, pinky, rotation):
    rect = hand_rect_from_body(wrist, index, pinky)
    assert np.cos(rect.rotation - rotation) == pytest.approx(1.0)
    middle = (2 * np.asarray(index, float) + np.asarray(pinky, float)) / 3
    to_fingers = (middle - np.asarray(wrist, float)) / np.linalg.norm(middle - wrist)
    np.testing.assert_allclose(_up_in_image(rect), to_fingers, atol=1e-9)
    box = 2 * np.linalg.norm(middle - wrist)
    assert rect.width == pytest.approx(2.0 * box) and rect.height == pytest.approx(2.0 * box)
    # shifted towards the fingers by 0.3 of the box
    np.testing.assert_allclose([rect.cx, rect.cy], middle + 0.3 * box * to_fingers, atol=1e-9)
    # the wrist is inside the crop, in its lower half
    u, v = _in_crop(rect, np.asarray(wrist, float))
    assert 0.4 < u < 0.6 and 0.5 < v < 1.0


def test_hand_rect_floor_enlarges_about_the_wrist():
    # knuckles 10 px from the wrist (collapsed): a 40 px crop centred 16 px above the wrist
    wrist, index, pinky = (100, 200), (95, 190), (110, 190)
    rect = hand_rect_from_body(wrist, index, pinky)
    assert (rect.cx, rect.cy, rect.width) == pytest.approx((100, 184, 40))
    floored = hand_rect_from_body(wrist, index, pinky, min_side=100)
    assert (floored.cx, floored.cy, floored.width, floored.height) == pytest.approx(
        (100, 160, 100, 100))
    assert floored.rotation == pytest.approx(rect.rotation)
    # the wrist keeps its place within the crop
    np.testing.assert_allclose(_in_crop(floored, np.asarray(wrist, float)),
                               _in_crop(rect, np.asarray(wrist, float)), atol=1e-9)
    # a floor below the crop's side changes nothing
    assert hand_rect_from_body(wrist, index, pinky, min_side=39) == rect


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (((0, 0), (0, 0), (0, 0)), "coincides"),
        (((0, 0, 0), (1, 1), (2, 2)), "wrist"),
        (((0, 0), (np.inf, 1), (2, 2)), "index"),
    ],
    ids=["degenerate", "bad-shape", "inf"],
)
def test_hand_rect_rejects_bad_input(args, error):
    with pytest.raises(ValueError, match=error):
        hand_rect_from_body(*args)


def _synthetic_hand() -> np.ndarray:
    """An upright open right hand (palm facing the camera), image pixels."""
    points = [(100, 200)]
    for base_x, top in ((70, 150), (85, 120), (100, 115), (115, 120), (130, 130)):
        for k in range(4):
            points.append((base_x + (0 if base_x != 70 else -5 * k), 165 - (165 - top) * k / 3))
    return np.array(points, np.float64)


@pytest.mark.parametrize("degrees", [0, 45, 90, 200], ids=lambda d: f"{d}deg")
def test_hand_rect_from_landmarks(degrees):
    angle = np.deg2rad(degrees)
    hand = apply_affine(_synthetic_hand(), _rotation_matrix(angle, (100, 160)))
    rect = hand_rect_from_landmarks(hand)
    assert np.cos(rect.rotation - angle) == pytest.approx(1.0, abs=1e-3)
    unit = _in_crop(rect, hand)
    # a 2 x enlargement leaves a quarter of the crop on each side of the long axis, less the
    # 0.1-of-the-box shift towards the fingers
    assert unit.min() >= 0.2 - 1e-4 and unit.max() <= 0.8 + 1e-4
    with pytest.raises(ValueError, match="points"):
        hand_rect_from_landmarks(hand[:20])


@pytest.mark.parametrize("degrees", [0, 30, -135], ids=lambda d: f"{d}deg")
def test_tracking_crops_square_the_box_in_the_turned_frame(degrees):
    # points spanning a 40 x 100 box (crop frame) centred at (10, -20) before the turn; the
    # crop's "up" runs from the wrist (point 0) to the mean of 10 and (6 + 14) / 2: straight up
    angle = np.deg2rad(degrees)
    local = np.tile([10.0, -20.0], (21, 1))
    local[0], local[[6, 10, 14]] = [10.0, 30.0], [10.0, -70.0]
    local[1], local[2] = [-10.0, -70.0], [30.0, 30.0]
    hand = apply_affine(local, _rotation_matrix(angle)).astype(np.float64)
    rect = hand_rect_from_landmarks(hand, scale=2.0, shift=-0.1)
    assert np.cos(rect.rotation - angle) == pytest.approx(1.0)
    # box 40 x 100 around (10, -20); moved 0.1 x 100 towards the fingers; side 2 x 100
    centre = apply_affine(np.array([10.0, -30.0]), _rotation_matrix(angle))
    np.testing.assert_allclose([rect.cx, rect.cy], centre, atol=1e-4)
    assert rect.width == pytest.approx(200.0) and rect.height == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("centre", "scale_point", "rotation"),
    [
        ((100, 100), (100, 140), 0.0),              # wrist below the centre: fingers up
        ((100, 100), (60, 100), np.pi / 2),         # wrist to the left: fingers to the right
        ((100, 100), (100, 60), np.pi),             # fingers down
        ((50, 80), (80, 120), -np.arctan2(30, 40)),  # a turned hand, distance 50
    ],
    ids=["up", "right", "down", "turned"],
)
def test_hand_rect_from_recrop(centre, scale_point, rotation):
    rect = hand_rect_from_recrop(centre, scale_point)
    centre, scale_point = np.asarray(centre, float), np.asarray(scale_point, float)
    half = np.linalg.norm(scale_point - centre)
    assert np.cos(rect.rotation - rotation) == pytest.approx(1.0)
    assert rect.width == pytest.approx(2 * half) and rect.height == pytest.approx(2 * half)
    # the crop's "up" points away from the second point (the wrist side)
    np.testing.assert_allclose(_up_in_image(rect), (centre - scale_point) / half, atol=1e-9)
    # moved 0.1 of the side towards the fingers: the centre sits at (0.5, 0.6) of the crop, the
    # second point half a side below it, just past the crop's bottom edge
    np.testing.assert_allclose(_in_crop(rect, centre), [0.5, 0.6], atol=1e-9)
    np.testing.assert_allclose(_in_crop(rect, scale_point), [0.5, 1.1], atol=1e-9)


def test_hand_rect_from_recrop_rejects_bad_input():
    with pytest.raises(ValueError, match="coincide"):
        hand_rect_from_recrop((5, 5), (5, 5))
    with pytest.raises(ValueError, match="scale_point"):
        hand_rect_from_recrop((5, 5), (5, np.nan))


# ------------------------------------------------------------------------------ real data


def _faces(root: Path) -> list[dict]:
    faces = []
    xml = ET.parse(root / "dlib" / "faces" / "training_with_face_landmarks.xml").getroot()
    for image in xml.iter("image"):
        pixels = cv2.imread(str(root / "dlib" / "faces" / image.get("file")))
        for box in image.iter("box"):
            gt = np.zeros((68, 2))
            for part in box.iter("part"):
                gt[int(part.get("name"))] = float(part.get("x")), float(part.get("y"))
            left, top = float(box.get("left")), float(box.get("top"))
            xyxy = (left, top, left + float(box.get("width")), top + float(box.get("height")))
            faces.append({"source": "dlib", "image": pixels, "gt": gt, "xyxy": xyxy})
    data = json.loads((root / "mmpose" / "300w" / "test_300w.json").read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    for ann in data["annotations"]:
        pixels = cv2.imread(str(root / "mmpose" / "300w" / files[ann["image_id"]]))
        x, y, w, h = ann["bbox"]
        gt = np.array(ann["keypoints"], np.float64).reshape(68, 3)[:, :2]
        faces.append({"source": "300w", "image": pixels, "gt": gt, "xyxy": (x, y, x + w, y + h)})
    return faces


def _hands(root: Path) -> list[dict]:
    hands = []
    for name in ("freihand", "onehand10k"):
        data = json.loads((root / "mmpose" / name / f"test_{name}.json").read_text())
        files = {im["id"]: im["file_name"] for im in data["images"]}
        for ann in data["annotations"]:
            keypoints = np.array(ann["keypoints"], np.float64).reshape(21, 3)
            image = cv2.imread(str(root / "mmpose" / name / files[ann["image_id"]]))
            hands.append({"source": name, "image": image, "gt": keypoints[:, :2],
                          "visible": keypoints[:, 2] > 0, "xywh": ann["bbox"]})
    return hands


def _face_points(gt: np.ndarray) -> dict:
    """Ground-truth iBUG-68 points standing in for the body model's face points."""
    return {"left_eye": gt[42:48].mean(0), "right_eye": gt[36:42].mean(0), "nose": gt[30],
            "mouth_left": gt[54], "mouth_right": gt[48], "left_ear": gt[16], "right_ear": gt[0]}


def _nme(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))


def _hand_errors(pred: np.ndarray, hand: dict) -> np.ndarray:
    """Per visible point error over the hand size (long side of the labelled points' box)."""
    gt, visible = hand["gt"], hand["visible"]
    size = (gt[visible].max(0) - gt[visible].min(0)).max()
    return np.linalg.norm(pred - gt, axis=1)[visible] / size


def _rotate_image(image: np.ndarray, points: np.ndarray, quarter_turns: int):
    """The image turned by 90-degree steps (counter-clockwise on screen) and its points."""
    h, w = image.shape[:2]
    turned = np.ascontiguousarray(np.rot90(image, quarter_turns))
    x, y = points[:, 0], points[:, 1]
    for _ in range(quarter_turns % 4):
        x, y = y, (w - 1) - x
        h, w = w, h
    return turned, np.stack([x, y], 1)


@pytest.fixture(scope="module")
def faces(shared_data):
    return _faces(shared_data)


@pytest.fixture(scope="module")
def hands(shared_data):
    return _hands(shared_data)


@pytest.fixture(scope="module")
def face_model(embedded_models):
    return FaceLandmarker()


@pytest.fixture(scope="module")
def hand_models(embedded_models):
    return {"full": HandLandmarker("full"), "lite": HandLandmarker("lite"),
            "ensemble": HandLandmarker("full", refine="ensemble")}


@pytest.mark.models
@pytest.mark.parametrize(("source", "threshold"), [("dlib", 0.10), ("300w", 0.08)],
                         ids=["dlib", "300w"])
def test_face_nme_from_face_points(faces, face_model, source, threshold):
    errors, presences = [], []
    for face in (f for f in faces if f["source"] == source):
        result = face_model(face["image"], face_rect_from_points(**_face_points(face["gt"])))
        assert result.points68.shape == (68, 2) and result.mesh.shape == (468, 2)
        np.testing.assert_array_equal(result.scores, np.float32(result.presence))
        errors.append(_nme(result.points68, face["gt"]))
        presences.append(result.presence)
    assert np.mean(errors) < threshold
    assert max(errors) < 0.20
    assert min(presences) > 0.5


@pytest.mark.models
def test_face_nme_from_box(faces, face_model):
    errors = []
    for face in faces:
        x1, y1, x2, y2 = face["xyxy"]
        side = 1.6 * max(x2 - x1, y2 - y1)
        rect = RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side, side, 0.0)
        errors.append(_nme(face_model(face["image"], rect).points68, face["gt"]))
    assert np.mean(errors) < 0.10


@pytest.mark.models
@pytest.mark.parametrize("quarter_turns", [1, 2, 3], ids=["90deg", "180deg", "270deg"])
def test_face_in_turned_images(faces, face_model, quarter_turns):
    errors = []
    for face in (f for f in faces if f["source"] == "300w"):
        image, gt = _rotate_image(face["image"], face["gt"], quarter_turns)
        result = face_model(image, face_rect_from_points(**_face_points(gt)))
        errors.append(_nme(result.points68, gt))
    assert np.mean(errors) < 0.08


@pytest.mark.models
@pytest.mark.parametrize(
    ("source", "variant", "min_pck", "max_error"),
    [("freihand", "full", 0.75, 0.15), ("freihand", "lite", 0.70, 0.17),
     ("freihand", "ensemble", 0.75, 0.15),
     ("onehand10k", "full", 0.90, 0.08), ("onehand10k", "lite", 0.90, 0.08),
     ("onehand10k", "ensemble", 0.90, 0.08)],
    ids=["freihand-full", "freihand-lite", "freihand-ensemble", "onehand10k-full",
         "onehand10k-lite", "onehand10k-ensemble"],
)
def test_hand_from_body_points(hands, hand_models, source, variant, min_pck, max_error):
    model = hand_models[variant]
    errors = []
    for hand in hands:
        if hand["source"] != source or not hand["visible"][[0, 5, 17]].all():
            continue
        gt = hand["gt"]
        result = model(hand["image"], hand_rect_from_body(gt[0], gt[5], gt[17]))
        assert result.points.shape == (21, 2) and 0.5 < result.presence <= 1.0
        np.testing.assert_array_equal(result.scores, np.float32(result.presence))
        errors.append(_hand_errors(result.points, hand))
    assert errors, f"no {source} hand has its wrist and knuckles labelled"
    errors = np.concatenate(errors)
    assert np.mean(errors < 0.2) >= min_pck
    assert errors.mean() < max_error


@pytest.mark.models
def test_most_present_keeps_the_crop_that_holds_the_hand(hands, hand_models):
    # a FreiHAND hand: its own crop, and one as large moved off the hand by two of its sides
    model = hand_models["full"]
    hand = next(h for h in hands if h["source"] == "freihand")
    gt = hand["gt"]
    on = hand_rect_from_body(gt[0], gt[5], gt[17])
    off = RotatedRect(on.cx + 2 * on.width, on.cy, on.width, on.height, on.rotation)
    right, wrong = model(hand["image"], on), model(hand["image"], off)
    assert right.presence > wrong.presence
    for order in ([on, off], [off, on]):
        kept = model.most_present(hand["image"], order)
        np.testing.assert_array_equal(kept.points, right.points)
        assert kept.presence == right.presence


@pytest.mark.models
def test_hand_ensemble_pass_averages_both_models(hands, hand_models):
    # one "ensemble" pass is the mean of the full and the lite model's points and presence on
    # the same crop, and its second pass runs on the crop that mean places
    hand = next(h for h in hands if h["source"] == "freihand")
    gt = hand["gt"]
    rect = hand_rect_from_body(gt[0], gt[5], gt[17])
    ensemble = hand_models["ensemble"]
    assert [m is ensemble.model for m in ensemble.models] == [True, False]
    points, presence = ensemble._run(hand["image"], rect)
    full, lite = (hand_models[v]._run(hand["image"], rect) for v in ("full", "lite"))
    assert np.abs(full[0] - lite[0]).max() > 1.0  # the two models do differ here
    np.testing.assert_allclose(points, (full[0] + lite[0]) / 2, atol=1e-3)
    assert presence == pytest.approx((full[1] + lite[1]) / 2, abs=1e-6)
    result = ensemble(hand["image"], rect)
    placed = hand_rect_from_landmarks(points)
    np.testing.assert_allclose(result.points, ensemble._run(hand["image"], placed)[0], atol=1e-3)
    assert result.rect == placed


@pytest.mark.models
def test_hand_second_pass_realigns_an_upright_box(hands, hand_models):
    errors = []
    for hand in (h for h in hands if h["source"] == "onehand10k"):
        x, y, w, h = hand["xywh"]
        side = 1.5 * max(w, h)
        result = hand_models["full"](hand["image"], RotatedRect(x + w / 2, y + h / 2, side, side))
        errors.append(_hand_errors(result.points, hand))
    assert np.mean(np.concatenate(errors) < 0.2) >= 0.9


@pytest.mark.models
@pytest.mark.parametrize("quarter_turns", [1, 2], ids=["90deg", "180deg"])
def test_hand_in_turned_images(hands, hand_models, quarter_turns):
    hand = next(h for h in hands if h["source"] == "onehand10k" and h["visible"].all())
    image, gt = _rotate_image(hand["image"], hand["gt"], quarter_turns)
    result = hand_models["full"](image, hand_rect_from_body(gt[0], gt[5], gt[17]))
    errors = _hand_errors(result.points, {**hand, "gt": gt})
    assert errors.mean() < 0.08


@pytest.mark.models
def test_no_face_or_hand_in_a_flat_image(face_model, hand_models):
    flat = np.full((240, 320, 3), 128, np.uint8)
    rect = RotatedRect(160, 120, 200, 200)
    assert face_model(flat, rect).presence < 0.5
    assert hand_models["full"](flat, rect).presence < 0.5


@pytest.mark.models
@pytest.mark.parametrize(
    ("image", "rect", "error"),
    [
        (np.zeros((10, 10, 3), np.float32), RotatedRect(5, 5, 4, 4), TypeError),
        (np.zeros((10, 10), np.uint8), RotatedRect(5, 5, 4, 4), ValueError),
        (np.zeros((10, 10, 3), np.uint8), (5, 5, 4, 4), TypeError),
        (np.zeros((10, 10, 3), np.uint8), RotatedRect(5, 5, 0, 4), ValueError),
    ],
    ids=["float-image", "gray-image", "tuple-rect", "empty-rect"],
)
def test_landmarkers_reject_bad_input(face_model, hand_models, image, rect, error):
    with pytest.raises(error):
        face_model(image, rect)
    with pytest.raises(error):
        hand_models["full"](image, rect)


def test_hand_variant_is_checked():
    with pytest.raises(ValueError, match="variant"):
        HandLandmarker("huge")


@pytest.mark.parametrize("refine", ["recrops", "", None, 1, "True"],
                         ids=["typo", "empty", "none-object", "int", "bool-string"])
def test_hand_refine_is_checked(refine):
    with pytest.raises(ValueError, match=r"refine: expected True, False or one of \['landmarks', "
                                         r"'recrop', 'none', 'ensemble'\], got"):
        HandLandmarker("lite", refine=refine)


@pytest.mark.models
@pytest.mark.parametrize(("refine", "mode"), [(True, "landmarks"), (False, "none"),
                                              ("recrop", "recrop"), ("none", "none")],
                         ids=["true", "false", "recrop", "none"])
def test_hand_refine_accepts_bools_and_modes(embedded_models, refine, mode):
    model = HandLandmarker("lite", num_threads=1, refine=refine)
    assert model.refine == mode
    assert (model.recrop_model is not None) == (mode == "recrop")


@pytest.fixture(scope="module")
def recrop_models(embedded_models):
    return {v: HandLandmarker(v, num_threads=1, refine="recrop") for v in ("full", "lite")}


@pytest.mark.models
def test_recrop_places_the_crop_on_the_labelled_hand(hands, recrop_models):
    # MediaPipe's re-crop input (body crop 2.7 / -0.1) from the labelled wrist and knuckles: the
    # re-placed crop is upright along the labelled wrist -> middle knuckle direction (measured
    # within 18 degrees), holds every labelled point well inside (measured 0.18 - 0.85 of the
    # crop) and its side is about 2 hand sizes (measured 1.6 - 2.0)
    checked = 0
    for hand in hands:
        gt, visible = hand["gt"], hand["visible"]
        if not visible[[0, 5, 9, 17]].all():
            continue
        body = hand_rect_from_body(gt[0], gt[5], gt[17], scale=2.7, shift=-0.1)
        rect = recrop_models["lite"].recrop(hand["image"], body)
        to_middle = (gt[9] - gt[0]) / np.linalg.norm(gt[9] - gt[0])
        assert _up_in_image(rect) @ to_middle > np.cos(np.deg2rad(30))
        unit = _in_crop(rect, gt[visible])
        assert unit.min() > 0.05 and unit.max() < 0.95
        size = (gt[visible].max(0) - gt[visible].min(0)).max()
        assert 1.3 < rect.width / size < 2.5
        checked += 1
    assert checked >= 5


@pytest.mark.models
@pytest.mark.parametrize(
    ("source", "variant", "min_pck", "max_error"),
    [("freihand", "full", 0.75, 0.15), ("freihand", "lite", 0.75, 0.15),
     ("onehand10k", "full", 0.90, 0.08), ("onehand10k", "lite", 0.90, 0.08)],
    ids=["freihand-full", "freihand-lite", "onehand10k-full", "onehand10k-lite"],
)
def test_hand_recrop_from_body_points(hands, recrop_models, source, variant, min_pck,
                                      max_error):
    # measured (bench/hands.py): PCK@0.2 0.80 / 0.82 on FreiHAND, 1.0 on OneHand10K 1402
    errors = []
    for hand in hands:
        if hand["source"] != source or not hand["visible"][[0, 5, 17]].all():
            continue
        gt = hand["gt"]
        result = recrop_models[variant](hand["image"], hand_rect_from_body(gt[0], gt[5], gt[17]))
        assert 0.5 < result.presence <= 1.0
        errors.append(_hand_errors(result.points, hand))
    errors = np.concatenate(errors)
    assert np.mean(errors < 0.2) >= min_pck
    assert errors.mean() < max_error


@pytest.mark.parametrize("value", ["recrops", "Landmarks", 2], ids=["typo", "case", "int"])
def test_whole_body_config_checks_refine_hands(value):
    from alphapose.estimators.blaze import BlazeWholeBodyConfig

    with pytest.raises(ValueError, match="refine_hands must be True, False or one of"):
        BlazeWholeBodyConfig(refine_hands=value)
    for ok in (True, False, "landmarks", "recrop", "none", "ensemble"):
        assert BlazeWholeBodyConfig(refine_hands=ok).refine_hands == ok
