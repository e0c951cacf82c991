"""Face and hand landmarks of the embedded default whole-body estimator.

Two landmark models from the ``mediapipe==0.10.14`` wheel, each run on one rotated crop per call:

* the face mesh (``face_landmark.tflite``): a ``192 x 192`` RGB crop in [0, 1] gives 468 points
  ``(x, y, z)`` in crop pixels and one face-presence logit;
* the hand landmark model (``hand_landmark_full.tflite`` / ``hand_landmark_lite.tflite``): a
  ``224 x 224`` RGB crop in [0, 1] gives 21 points ``(x, y, z)`` in crop pixels, a presence
  probability (already through a sigmoid inside the model: MediaPipe's graph reads it with no
  activation and thresholds it at 0.5), a handedness probability (which assumes a mirrored selfie
  image; unused: the body model tells left from right) and 21 world points.

Crops are placed from the body model's points, the way MediaPipe's holistic graph does it, and by
default placed a second time from the first pass's own landmarks (MediaPipe's tracking rule),
which measured better for both models. Hands can instead be re-placed by MediaPipe's holistic
re-crop model (``hand_recrop.tflite``): a ``256 x 256`` RGB crop in [0, 1] gives two points in
crop pixels, the hand's centre and a point whose distance from it is half the new crop's side,
lying towards the wrist (see :func:`hand_rect_from_recrop`); one landmark pass follows. Neither
model gives per-point confidences: every point carries its model's presence probability; inside
a person, :func:`hand_keypoint_scores` turns the hand's into a calibrated score.

Coordinates: points are ``(x, y)`` image pixels with pixel centres at integers (see
:mod:`alphapose.transforms`). The models' outputs are in crop pixels with the crop's *edges* at
0 and the input size, so they are shifted by half a pixel before they are mapped back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphapose.codecs import sigmoid
from alphapose.runtime.litert import LiteRTModel
from alphapose.structures import check_image
from alphapose.transforms import RotatedRect, apply_affine, warp_crop
from alphapose.weights import get_model_file

__all__ = [
    "FACE_MESH_TO_68",
    "HAND_REFINE_MODES",
    "HAND_SCORE_CURVE",
    "HAND_VARIANTS",
    "FaceLandmarker",
    "FaceResult",
    "HandCrop",
    "HandLandmarker",
    "HandResult",
    "face_rect_from_mesh",
    "face_rect_from_points",
    "hand_keypoint_scores",
    "hand_rect_from_body",
    "hand_rect_from_landmarks",
    "hand_rect_from_recrop",
]

# The 468 -> iBUG-68 correspondence published by Peizhi Yan in
# github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks, file mediapipe2dlib/mp2dlib.py (MIT licence):
# row i lists the face-mesh vertices whose mean is iBUG point i (0-based; the source numbers them
# 1-68), a single vertex repeated. Jaw 0-16, brows 17-26, nose 27-35, eyes 36-47 (the subject's
# right eye first), outer lips 48-59, inner lips 60-67. Shape (68, 2).
FACE_MESH_TO_68: np.ndarray = np.array([
    (127, 127), (234, 234), (93, 93), (132, 58), (58, 172), (136, 136), (150, 150), (176, 176),
    (152, 152), (400, 400), (379, 379), (365, 365), (397, 288), (361, 361), (323, 323),
    (454, 454), (356, 356),
    (70, 70), (63, 63), (105, 105), (66, 66), (107, 107),
    (336, 336), (296, 296), (334, 334), (293, 293), (300, 300),
    (168, 6), (197, 195), (5, 5), (4, 4), (75, 75), (97, 97), (2, 2), (326, 326), (305, 305),
    (33, 33), (160, 160), (158, 158), (133, 133), (153, 153), (144, 144),
    (362, 362), (385, 385), (387, 387), (263, 263), (373, 373), (380, 380),
    (61, 61), (39, 39), (37, 37), (0, 0), (267, 267), (269, 269), (291, 291),
    (321, 321), (314, 314), (17, 17), (84, 84), (91, 91),
    (78, 78), (82, 82), (13, 13), (312, 312), (308, 308),
    (317, 317), (14, 14), (87, 87),
], np.int64)

FACE_INPUT_SIZE = 192
HAND_INPUT_SIZE = 224
HAND_VARIANTS = {"full": "blaze-hand-full", "lite": "blaze-hand-lite"}
HAND_RECROP_INPUT_SIZE = 256
#: How :class:`HandLandmarker` re-places a hand crop: a second landmark pass on the crop placed
#: from the first pass's landmarks, the re-crop model then one landmark pass, nothing, or
#: ``"ensemble"``: the two landmark passes, each running both hand models on the crop and
#: averaging their points.
HAND_REFINE_MODES = ("landmarks", "recrop", "none", "ensemble")

# Face-mesh vertices at the outer eye corners: the subject's right eye (left in a frontal image)
# and the subject's left eye; MediaPipe rotates the face crop so that 33 -> 263 points along +x.
_MESH_RIGHT_EYE_OUTER = 33
_MESH_LEFT_EYE_OUTER = 263

# Ratios of the face mesh's box (long side, forehead to chin) to distances between body-model face
# points, measured on 20 faces (dlib examples and 300-W; medians 2.96, 2.64, 1.21 with the dlib
# jaw ends standing in for the ears), and the offset of the box centre from the middle of the eyes
# and mouth towards the forehead (0.05 of the eye-to-mouth distance).
_FACE_PER_EYE_DISTANCE = 3.0
_FACE_PER_EYE_MOUTH_DISTANCE = 2.6
_FACE_PER_EAR_DISTANCE = 1.2
_FACE_CENTRE_UP = 0.05


def _xy(value: np.ndarray | tuple[float, float], name: str) -> tuple[float, float]:
    """A checked ``(x, y)`` point as two Python floats (the crop rules are scalar arithmetic)."""
    point = np.asarray(value, np.float64)
    if point.shape != (2,):
        raise ValueError(f"{name}: expected an (x, y) point of shape (2,), got shape {point.shape}")
    x, y = float(point[0]), float(point[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{name}: expected finite coordinates, got {[x, y]}")
    return x, y


def _check_rect(rect: RotatedRect) -> None:
    if not isinstance(rect, RotatedRect):
        raise TypeError(f"rect: expected a RotatedRect, got {type(rect).__name__}")
    if not (all(math.isfinite(v) for v in (rect.cx, rect.cy, rect.width, rect.height,
                                            rect.rotation))
            and rect.width > 0 and rect.height > 0):
        raise ValueError(f"rect: expected a finite rectangle with a positive size, got {rect}")


def _unit_tensor(crop_rgb: np.ndarray) -> np.ndarray:
    """``(1, H, W, 3)`` float32 in [0, 1] from a uint8 crop, in one pass (the same values as
    ``astype(float32) * float32(1 / 255)``)."""
    return np.multiply(crop_rgb, np.float32(1.0 / 255.0), dtype=np.float32)[None]



def _rect_around(points: np.ndarray, rotation: float, scale: float,
                 shift_y: float = 0.0) -> RotatedRect:
    """Square rect of side ``scale x`` the long side of the points' box in the rotated frame.

    ``shift_y`` moves the centre along the crop's y axis by that fraction of the box height
    before squaring (negative = towards the crop's top), as MediaPipe's rect transformation does.
    """
    c, s = math.cos(rotation), math.sin(rotation)
    # (u, v): the points in the crop's axes x = (c, s), y = (-s, c)
    uv = points @ np.array([[c, -s], [s, c]])
    (u_min, v_min), (u_max, v_max) = uv.min(axis=0).tolist(), uv.max(axis=0).tolist()
    width, height = u_max - u_min, v_max - v_min
    u0 = 0.5 * (u_max + u_min)
    v0 = 0.5 * (v_max + v_min) + shift_y * height
    side = max(width, height, 1e-3) * scale
    return RotatedRect(u0 * c - v0 * s, u0 * s + v0 * c, side, side, float(rotation))


# ----------------------------------------------------------------------------------------- face

@dataclass(frozen=True)
class FaceResult:
    """One face.

    Attributes:
        points68: ``(68, 2)`` float32 iBUG-68 points in image pixels (300-W / COCO-WholeBody /
            Halpe face order).
        scores: ``(68,)`` float32 in [0, 1]. The mesh has no per-point confidence: every point
            carries the face-presence probability.
        presence: face-presence probability (sigmoid of the model's face flag).
        mesh: ``(468, 2)`` float32 face-mesh points in image pixels.
        rect: the crop the points were predicted in (the last pass's).
    """

    points68: np.ndarray
    scores: np.ndarray
    presence: float
    mesh: np.ndarray
    rect: RotatedRect


def face_rect_from_points(left_eye: np.ndarray, right_eye: np.ndarray, nose: np.ndarray,
                          mouth_left: np.ndarray, mouth_right: np.ndarray,
                          left_ear: np.ndarray | None = None, right_ear: np.ndarray | None = None,
                          *, scale: float = 1.5) -> RotatedRect:
    """Square face crop placed from body-model face points.

    The crop's x axis runs from the right eye to the left eye (the subject's sides), averaged with
    the normal of the mouth-to-eyes line so that a turned head, whose eyes close up, still gets a
    sensible angle. The face size (the long side of the face mesh's box, forehead to chin) is
    estimated from three cues, each scaled by its measured ratio to that size, and the largest is
    taken (a turned or tilted head shortens some of them): ``3.0 x`` the eye distance,
    ``2.6 x`` the eye-to-mouth distance and ``1.2 x`` the ear distance. The crop side is
    ``scale`` times that size (MediaPipe crops 1.5 times the mesh's box). The centre is the middle
    of the eyes and the mouth, moved sideways opposite to the nose (the nose swings towards the
    side a head turns to, the face's box the other way: measured -1.09 times the nose's sideways
    offset, used as -1) and slightly towards the forehead.

    Args:
        left_eye: ``(2,)`` the subject's left eye centre (BlazePose point 2), image pixels.
        right_eye: ``(2,)`` the subject's right eye centre (BlazePose point 5).
        nose: ``(2,)`` nose tip (BlazePose point 0).
        mouth_left: ``(2,)`` left mouth corner (BlazePose point 9).
        mouth_right: ``(2,)`` right mouth corner (BlazePose point 10).
        left_ear: optional ``(2,)`` left ear (BlazePose point 7).
        right_ear: optional ``(2,)`` right ear (BlazePose point 8).
        scale: crop side over the estimated face size.

    Returns:
        The crop rectangle for :class:`FaceLandmarker`.

    Example:
        >>> rect = face_rect_from_points((120, 100), (80, 100), (100, 120), (110, 140), (90, 140))
        >>> round(rect.rotation, 3), rect.width == rect.height
        (0.0, True)
    """
    lex, ley = _xy(left_eye, "left_eye")
    rex, rey = _xy(right_eye, "right_eye")
    nox, noy = _xy(nose, "nose")
    mlx, mly = _xy(mouth_left, "mouth_left")
    mrx, mry = _xy(mouth_right, "mouth_right")
    if scale <= 0:
        raise ValueError(f"scale: expected a positive factor, got {scale}")
    eye_x, eye_y = 0.5 * (lex + rex), 0.5 * (ley + rey)
    mouth_x, mouth_y = 0.5 * (mlx + mrx), 0.5 * (mly + mry)
    across_x, across_y = lex - rex, ley - rey
    up_x, up_y = eye_x - mouth_x, eye_y - mouth_y
    # A quarter turn maps the face's "up" (0, -1) onto its +x (1, 0): (x, y) -> (-y, x).
    dir_x = dir_y = 0.0
    for vx, vy in ((across_x, across_y), (-up_y, up_x)):
        norm = math.hypot(vx, vy)
        if norm > 1e-6:
            dir_x, dir_y = dir_x + vx / norm, dir_y + vy / norm
    if math.hypot(dir_x, dir_y) < 1e-6:
        dir_x, dir_y = 1.0, 0.0
    rotation = math.atan2(dir_y, dir_x)
    c, s = math.cos(rotation), math.sin(rotation)  # x axis (c, s), y axis (-s, c)

    eye_mouth = math.hypot(up_x, up_y)
    size = max(_FACE_PER_EYE_DISTANCE * math.hypot(across_x, across_y),
               _FACE_PER_EYE_MOUTH_DISTANCE * eye_mouth)
    if (left_ear is None) != (right_ear is None):
        raise ValueError("left_ear, right_ear: give both ears or neither")
    if left_ear is not None and right_ear is not None:
        (elx, ely), (erx, ery) = _xy(left_ear, "left_ear"), _xy(right_ear, "right_ear")
        size = max(size, _FACE_PER_EAR_DISTANCE * math.hypot(elx - erx, ely - ery))
    if size < 1e-3:
        raise ValueError("left_eye, right_eye, mouth_left, mouth_right: the points coincide; "
                         "no face size can be derived")
    base_x, base_y = 0.5 * (eye_x + mouth_x), 0.5 * (eye_y + mouth_y)
    sideways = (nox - base_x) * c + (noy - base_y) * s
    up_shift = _FACE_CENTRE_UP * eye_mouth
    side = scale * size
    return RotatedRect(base_x - sideways * c + up_shift * s, base_y - sideways * s - up_shift * c,
                       side, side, rotation)


def face_rect_from_mesh(mesh: np.ndarray, *, scale: float = 1.5) -> RotatedRect:
    """MediaPipe's face tracking crop from 468 mesh points.

    Rotation from the outer eye corners (vertices 33 -> 263), then the points' box in that frame
    (MediaPipe takes the axis-aligned box; the rotated one keeps the crop the same for a tilted
    head), squared on its long side and enlarged by ``scale`` (1.5 in MediaPipe's graphs).

    Args:
        mesh: ``(468, 2)`` mesh points in image pixels.
        scale: enlargement of the squared box.

    Returns:
        The crop rectangle.
    """
    mesh = np.asarray(mesh, np.float64)
    if mesh.ndim != 2 or mesh.shape[0] != 468 or mesh.shape[1] < 2:
        raise ValueError(f"mesh: expected shape (468, 2), got {mesh.shape}")
    (lx, ly), (rx, ry) = mesh[_MESH_LEFT_EYE_OUTER, :2], mesh[_MESH_RIGHT_EYE_OUTER, :2]
    return _rect_around(mesh[:, :2], math.atan2(float(ly - ry), float(lx - rx)), scale)


class FaceLandmarker:
    """468-point face mesh on a rotated face crop, reported in the iBUG-68 layout too.

    Args:
        num_threads: CPU threads for the interpreter.
        refine: run a second pass on the crop re-placed from the first pass's mesh
            (:func:`face_rect_from_mesh`), as MediaPipe's tracking does. Measured: NME 0.063 ->
            0.057 on 300-W, unchanged on the dlib faces, and far less sensitive to a first crop
            of the wrong size (x 1.8: 0.108 -> 0.081).
        model_path: a ``face_landmark.tflite`` file; the zoo's ``blaze-face-mesh`` if ``None``.

    Example:
        >>> face = FaceLandmarker()                                        # doctest: +SKIP
        >>> result = face(image_bgr, face_rect_from_points(*pts))         # doctest: +SKIP
        >>> result.points68.shape                                          # doctest: +SKIP
        (68, 2)
    """

    def __init__(self, num_threads: int = 2, refine: bool = True,
                 model_path: str | Path | None = None) -> None:
        path = get_model_file("blaze-face-mesh") if model_path is None else model_path
        self.model = LiteRTModel(path, num_threads=num_threads)
        self.refine = refine

    def _run(self, image_bgr: np.ndarray, rect: RotatedRect) -> tuple[np.ndarray, float]:
        crop, img_from_crop = warp_crop(image_bgr, rect, FACE_INPUT_SIZE, FACE_INPUT_SIZE,
                                        rgb=True)
        landmarks, flag = self.model(_unit_tensor(crop))
        crop_xy = landmarks.reshape(468, 3)[:, :2] - 0.5  # edges at 0 -> centres at 0
        return apply_affine(crop_xy, img_from_crop), float(sigmoid(np.float64(flag.ravel()[0])))

    def __call__(self, image_bgr: np.ndarray, rect: RotatedRect) -> FaceResult:
        """Face landmarks in one crop.

        Args:
            image_bgr: ``(H, W, 3)`` uint8 BGR image.
            rect: the face crop (see :func:`face_rect_from_points`).

        Returns:
            The face's points in image pixels.
        """
        check_image(image_bgr, "image_bgr")
        _check_rect(rect)
        mesh, presence = self._run(image_bgr, rect)
        if self.refine:
            rect = face_rect_from_mesh(mesh)
            mesh, presence = self._run(image_bgr, rect)
        points68 = mesh[FACE_MESH_TO_68].mean(axis=1).astype(np.float32)
        scores = np.full(68, presence, np.float32)
        return FaceResult(points68, scores, presence, mesh.astype(np.float32), rect)


# ----------------------------------------------------------------------------------------- hand

@dataclass(frozen=True)
class HandResult:
    """One hand.

    Attributes:
        points: ``(21, 2)`` float32 image pixels, COCO-WholeBody / Halpe hand order (wrist, then
            thumb, index, middle, ring, pinky, four each from base to tip).
        scores: ``(21,)`` float32 in [0, 1]. The model has no per-point confidence: every point
            carries the hand-presence probability.
        presence: hand-presence probability.
        rect: the crop the points were predicted in (the last pass's).
    """

    points: np.ndarray
    scores: np.ndarray
    presence: float
    rect: RotatedRect


@dataclass(frozen=True)
class HandCrop(RotatedRect):
    """A hand crop with a larger alternative: :meth:`HandLandmarker.most_present` estimates the
    hand on both and keeps the more present result (a crop used as a plain
    :class:`~alphapose.transforms.RotatedRect` is the first).

    Attributes:
        larger: the alternative crop (``None``: none).
    """

    larger: RotatedRect | None = None


def hand_rect_from_body(wrist: np.ndarray, index: np.ndarray, pinky: np.ndarray,
                        *, scale: float = 2.0, shift: float = -0.3,
                        min_side: float = 0.0) -> RotatedRect:
    """Rotation-aligned hand crop from the body model's wrist, index and pinky points.

    MediaPipe's holistic rule: the middle knuckle is estimated as ``(2 index + pinky) / 3``; the
    crop is centred there, its "up" points from the wrist to that point, its side is twice the
    wrist-to-middle distance times ``scale``, and it is moved by ``shift`` of that (unscaled) side
    along the crop's y axis (negative = towards the fingers). MediaPipe enlarges by 2.7 with shift
    -0.1 for its separate re-crop model (``HandLandmarker(refine="recrop")``, which works on
    either crop); feeding the landmark model directly,
    2.0 and -0.3 measured best (FreiHAND / OneHand10K hands seeded from their wrist and index /
    pinky knuckles, with and without noise; hand presence on BlazePose-seeded crops).

    Args:
        wrist: ``(2,)`` wrist (BlazePose 15 left / 16 right), image pixels.
        index: ``(2,)`` index knuckle (BlazePose 19 / 20).
        pinky: ``(2,)`` pinky knuckle (BlazePose 17 / 18).
        scale: enlargement of the ``2 x |middle - wrist|`` box.
        shift: move along the crop's y axis, a fraction of the (unscaled) box side.
        min_side: the crop's side is at least this; a smaller crop is enlarged about the
            wrist (its centre moves away from the wrist by the same factor): for knuckles the
            body model puts too close to the wrist, which make a crop smaller than the hand
            (:class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig` ``hand_crop_forearm``).

    Returns:
        The crop rectangle for :class:`HandLandmarker`.

    Example:
        >>> rect = hand_rect_from_body((100, 200), (95, 150), (110, 150))   # fingers up
        >>> round(rect.rotation, 6), round(rect.width, 1)
        (0.0, 200.0)
    """
    (wx, wy), (ix, iy), (px, py) = _xy(wrist, "wrist"), _xy(index, "index"), _xy(pinky, "pinky")
    if scale <= 0:
        raise ValueError(f"scale: expected a positive factor, got {scale}")
    middle_x, middle_y = (2.0 * ix + px) / 3.0, (2.0 * iy + py) / 3.0
    up_x, up_y = middle_x - wx, middle_y - wy
    length = math.hypot(up_x, up_y)
    if length < 1e-6:
        raise ValueError("wrist, index, pinky: the wrist coincides with the knuckles; "
                         "no hand direction can be derived")
    # The crop's -y axis (its "up") must be `up`; its y axis in the image is (-sin r, cos r).
    rotation = math.atan2(up_x, -up_y)
    box = 2.0 * length
    move = shift * box / length  # along the y axis -up / length
    side = box * scale
    cx, cy = middle_x - move * up_x, middle_y - move * up_y
    if side < min_side:  # enlarged about the wrist
        grow = min_side / side
        cx, cy, side = wx + (cx - wx) * grow, wy + (cy - wy) * grow, float(min_side)
    return RotatedRect(cx, cy, side, side, rotation)


def hand_rect_from_landmarks(points: np.ndarray, *, scale: float = 2.0,
                             shift: float = -0.1) -> RotatedRect:
    """MediaPipe's hand tracking crop from 21 hand landmarks.

    Rotation from the wrist (0) to the mean of the middle PIP (10) and the midpoint of the index
    and ring PIPs (6, 14); the points' box in that frame is moved by ``shift`` of its height along
    the crop's y axis, squared on its long side and enlarged by ``scale``.

    Args:
        points: ``(21, 2)`` hand landmarks in image pixels.
        scale: enlargement of the squared box.
        shift: move along the crop's y axis (negative = towards the fingers).

    Returns:
        The crop rectangle.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[0] != 21 or points.shape[1] < 2:
        raise ValueError(f"points: expected shape (21, 2), got {points.shape}")
    points = points[:, :2]
    (x0, y0), (x6, y6), (x10, y10), (x14, y14) = points[[0, 6, 10, 14]].tolist()
    up_x = 0.5 * (0.5 * (x6 + x14) + x10) - x0
    up_y = 0.5 * (0.5 * (y6 + y14) + y10) - y0
    return _rect_around(points, math.atan2(up_x, -up_y), scale, shift)


def hand_rect_from_recrop(centre: np.ndarray, scale_point: np.ndarray, *,
                          shift: float = -0.1) -> RotatedRect:
    """The hand crop that the re-crop model's two points describe (MediaPipe's holistic rule).

    The model's first point is the hand's centre, its second lies towards the wrist at half the
    crop's side from it: the crop is the square of side ``2 |scale_point - centre|`` whose "down"
    (+y) axis runs from the centre to the second point, moved by ``shift`` of its side along
    that axis (negative = towards the fingers). MediaPipe uses it as it is (scale 1).

    Args:
        centre: ``(2,)`` the model's first point, image pixels.
        scale_point: ``(2,)`` the model's second point, image pixels.
        shift: move along the crop's y axis, a fraction of the side.

    Returns:
        The crop rectangle for the landmark pass.

    Example:
        >>> rect = hand_rect_from_recrop((100, 100), (100, 140))   # wrist below: fingers up
        >>> round(rect.rotation, 6), rect.width, rect.cy
        (0.0, 80.0, 92.0)
    """
    (cx, cy), (sx, sy) = _xy(centre, "centre"), _xy(scale_point, "scale_point")
    down_x, down_y = sx - cx, sy - cy
    half = math.hypot(down_x, down_y)
    if half < 1e-6:
        raise ValueError("centre, scale_point: the points coincide; no hand crop can be derived")
    # the crop's y axis in the image is (-sin r, cos r); it must point along `down`
    rotation = math.atan2(0.0 - down_x, down_y)  # 0.0 - x: no "-0.0" for an upright hand
    side = 2.0 * half
    move = shift * side / half
    return RotatedRect(cx + move * down_x, cy + move * down_y, side, side, rotation)


#: Hand presence -> probability that a hand point is right (COCO-WholeBody keypoint similarity
#: >= 0.5): knots ``(presence, probability)`` of an isotonic fit on held-out hands (FreiHAND /
#: OneHand10K scaled to 12-64 px, crops seeded from their wrist / knuckles jittered by 0-0.5 of
#: the hand size, lite and full models, second pass on; ``bench/calibration.py --fit``). At photo
#: resolution the model calls most small hands absent while placing them well: raw presence
#: 0.00-0.09 on the correct COCO hands; 7560 held-out points, ECE 0.200 -> 0.021.
HAND_SCORE_CURVE: tuple[tuple[float, ...], tuple[float, ...]] = (
    (0.0, 0.0001, 0.0002, 0.0008, 0.0019, 0.0041, 0.0077, 0.018, 0.0227, 0.033, 0.0451, 0.0755,
     0.1494, 0.2396, 0.5317, 0.7902, 0.904, 0.9772),
    (0.0, 0.0472, 0.1231, 0.1266, 0.1709, 0.2271, 0.2835, 0.3476, 0.4476, 0.4628, 0.6327, 0.6494,
     0.939, 0.9549, 0.9612, 0.9789, 0.9911, 1.0))


def hand_keypoint_scores(presence: np.ndarray, wrist_visibility: float) -> np.ndarray:
    """Scores of a hand's points inside a person: the calibrated presence
    (:data:`HAND_SCORE_CURVE`, kept within [0.01, 0.99]) times the body model's visibility of
    that wrist (a hand the body cannot see is not scored as seen).

    Args:
        presence: ``(21,)`` the hand model's scores (its presence probability per point).
        wrist_visibility: the body's wrist visibility in [0, 1].

    Returns:
        ``(21,)`` float32 scores in [0, 1], in the same order as ``presence``.

    Example:
        >>> hand_keypoint_scores(np.full(21, 0.05, np.float32), 0.9).round(2)[:2].tolist()
        [0.57, 0.57]
    """
    x, y = HAND_SCORE_CURVE
    calibrated = np.clip(np.interp(np.asarray(presence, np.float64), x, y), 0.01, 0.99)
    return (calibrated * float(np.clip(wrist_visibility, 0.0, 1.0))).astype(np.float32)


def _hand_refine_mode(refine: bool | str) -> str:
    if isinstance(refine, bool):
        return "landmarks" if refine else "none"
    if isinstance(refine, str) and refine in HAND_REFINE_MODES:
        return refine
    raise ValueError(f"refine: expected True, False or one of {list(HAND_REFINE_MODES)}, "
                     f"got {refine!r}")


class HandLandmarker:
    """21 hand landmarks on a rotated hand crop.

    Args:
        variant: ``"full"`` or ``"lite"`` model.
        num_threads: CPU threads for the interpreters.
        refine: how the given crop is re-placed (see :data:`HAND_REFINE_MODES`):
            ``"landmarks"`` (or ``True``): a second pass on the crop re-placed from the first
            pass's landmarks (:func:`hand_rect_from_landmarks`), as MediaPipe's tracking does;
            measured: error over hand size 0.157 -> 0.123 over noisy and upright-box first
            crops, and much steadier presence. ``"recrop"``: MediaPipe holistic's re-crop model
            on the given crop (:func:`hand_rect_from_recrop`), then one landmark pass; MediaPipe
            feeds it ``hand_rect_from_body(..., scale=2.7, shift=-0.1)``. ``"none"`` (or
            ``False``): one landmark pass on the given crop. ``"ensemble"``: as
            ``"landmarks"``, but each pass runs both models (``variant`` and the other one) on
            the same crop and averages their points and presence (twice the invokes); the
            next crop is placed from the average. Measured (``bench/hands.py --causes``)
            against the full model alone: mean hand OKS 0.488 -> 0.509 on the 10
            COCO-WholeBody hands (performance mode's bodies), 0.441 -> 0.448 on the Halpe
            labels of the same images; PCK@0.2 of FreiHAND / OneHand10K hands scaled to
            12-32 px 0.81 -> 0.81 clean, 0.35 -> 0.38 blurred and JPEG-compressed (lite alone
            0.72 / 0.39).
        model_path: a hand landmark ``.tflite`` file; the zoo's file for ``variant`` if ``None``.
        recrop_model_path: a ``hand_recrop.tflite`` file; the zoo's ``blaze-hand-recrop`` if
            ``None`` (only loaded for ``refine="recrop"``).

    Example:
        >>> hands = HandLandmarker()                                               # doctest: +SKIP
        >>> left = hands(image_bgr, hand_rect_from_body(kp[15], kp[19], kp[17]))  # doctest: +SKIP
    """

    def __init__(self, variant: str = "full", num_threads: int = 2, refine: bool | str = True,
                 model_path: str | Path | None = None,
                 recrop_model_path: str | Path | None = None) -> None:
        if variant not in HAND_VARIANTS:
            raise ValueError(f"variant: expected one of {sorted(HAND_VARIANTS)}, got {variant!r}")
        self.refine = _hand_refine_mode(refine)
        path = get_model_file(HAND_VARIANTS[variant]) if model_path is None else model_path
        self.model = LiteRTModel(path, num_threads=num_threads)
        self.variant = variant
        #: every landmark model a pass runs (their points averaged): ``variant``'s, and with
        #: ``refine="ensemble"`` the other variant's from the zoo
        self.models = [self.model]
        if self.refine == "ensemble":
            other = "lite" if variant == "full" else "full"
            self.models.append(LiteRTModel(get_model_file(HAND_VARIANTS[other]),
                                           num_threads=num_threads))
        self.recrop_model: LiteRTModel | None = None
        if self.refine == "recrop":
            recrop = (get_model_file("blaze-hand-recrop") if recrop_model_path is None
                      else recrop_model_path)
            self.recrop_model = LiteRTModel(recrop, num_threads=num_threads)

    def recrop(self, image_bgr: np.ndarray, rect: RotatedRect) -> RotatedRect:
        """The hand crop the re-crop model places from a body-placed crop.

        Args:
            image_bgr: ``(H, W, 3)`` uint8 BGR image.
            rect: the body-placed crop (MediaPipe: :func:`hand_rect_from_body` with
                ``scale=2.7, shift=-0.1``).

        Returns:
            The crop for the landmark pass (:func:`hand_rect_from_recrop`).
        """
        if self.recrop_model is None:
            raise ValueError("recrop: this HandLandmarker was built without refine='recrop'")
        crop, img_from_crop = warp_crop(image_bgr, rect, HAND_RECROP_INPUT_SIZE,
                                        HAND_RECROP_INPUT_SIZE, rgb=True)
        (raw,) = self.recrop_model(_unit_tensor(crop))
        centre, scale_point = apply_affine(raw.reshape(2, 2) - 0.5, img_from_crop)
        return hand_rect_from_recrop(centre, scale_point)

    def _run(self, image_bgr: np.ndarray,
             rect: RotatedRect) -> tuple[np.ndarray, float]:
        """One landmark pass: ``(points (21, 2) image pixels, presence)``, averaged over
        :attr:`models`."""
        crop, img_from_crop = warp_crop(image_bgr, rect, HAND_INPUT_SIZE, HAND_INPUT_SIZE,
                                        rgb=True)
        tensor = _unit_tensor(crop)
        # Outputs: landmarks, presence (already a probability), handedness (assumes a mirrored
        # selfie image: unreliable here, the body model gives the side), world landmarks.
        outputs = [model(tensor)[:2] for model in self.models]
        landmarks = (outputs[0][0] if len(outputs) == 1
                     else np.mean([out[0] for out in outputs], axis=0))
        presence = float(np.mean([out[1].ravel()[0] for out in outputs]))
        crop_xy = landmarks.reshape(21, 3)[:, :2] - 0.5
        return apply_affine(crop_xy, img_from_crop), presence

    def most_present(self, image_bgr: np.ndarray, rects: list[RotatedRect]) -> HandResult:
        """The hand on each of ``rects`` (:meth:`__call__`), the result of highest presence
        (the first of equals): the model's own certainty that its crop holds a hand decides
        between candidate crops of one hand."""
        results = [self(image_bgr, rect) for rect in rects]
        return max(results, key=lambda result: result.presence)

    def __call__(self, image_bgr: np.ndarray, rect: RotatedRect) -> HandResult:
        """Hand landmarks in one crop.

        Args:
            image_bgr: ``(H, W, 3)`` uint8 BGR image.
            rect: the hand crop (see :func:`hand_rect_from_body`).

        Returns:
            The hand's points in image pixels.
        """
        check_image(image_bgr, "image_bgr")
        _check_rect(rect)
        if self.refine == "recrop":
            try:
                rect = self.recrop(image_bgr, rect)
            except ValueError:  # both points on one pixel: keep the given crop
                pass
        points, presence = self._run(image_bgr, rect)
        if self.refine in ("landmarks", "ensemble"):
            rect = hand_rect_from_landmarks(points)
            points, presence = self._run(image_bgr, rect)
        scores = np.full(21, presence, np.float32)
        return HandResult(points.astype(np.float32), scores, presence, rect)
