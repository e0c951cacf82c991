"""Hands of the embedded default: why they fail on COCO photos, which sizes work, and the
refinement modes' accuracy and cost per hand.

Why (``causes``, per mode, default ``balanced`` and ``performance``): the mode's pipeline runs in
process on the 4 COCO-WholeBody images (as ``alphapose run --mode M``); each labelled hand is
paired with the output pose whose body matches its person best, and the bench prints per hand:
its size (px, the labelled points' box), the body's OKS, the body wrist's visibility and error
(over the hand size), the crop's side over the hand size and the fraction of labelled points
inside the crop, the hand presence, the hand's OKS (COCO-WholeBody hand sigmas, the person's
area), its OKS against the person's *other* hand (a left/right swap) and the OKS from a crop
seeded by the labelled wrist / knuckles (a perfect body). Counts: crops that miss the hand (under
half its points inside), swaps, wrong bodies (body OKS < 0.5), correct hands (OKS >= 0.5) whose
presence is under MediaPipe's 0.5 threshold; each hand's first cause (:func:`hand_cause`). Then
each hand rule (the other hand model, one pass, two passes, the two-model ensemble, the
re-crop model, crop scale 1.5 / 2.7, a crop at least the forearm long (always; the
mode without its forearm-long candidate crop: ``no_forearm_choice``), the more present of two
crop sizes, the average with the mirrored image, all 21 points on the body wrist, hands
zeroed where the body says the wrist is hidden; with ``--palm FILE`` crops seeded by the palm
detector inside a wrist ROI, :class:`PalmSeeds`): its mean hand OKS and the end-to-end hand AP with
its hands put into the mode's output poses (pose NMS is not re-run), and its mean OKS against the
Halpe-FullBody labels of the same images (:func:`halpe_hands`: other annotators, 11 hands).

Which sizes (``size_sweep``): the FreiHAND / OneHand10K hands scaled down to 12-96 px, PCK@0.2
with crops seeded from their labelled wrist / knuckles, exact, jittered, and jittered on the image
blurred and JPEG-compressed (:func:`degrade`), for full, lite and the ensemble.

Refinement modes: for each refine mode (``landmarks``: a second landmark pass, ``recrop``:
MediaPipe holistic's re-crop model then one pass, ``none``: one pass) and hand model (``lite``,
``full``):

* PCK@0.2 of the hand size and mean error over the hand size on the FreiHAND and OneHand10K
  samples of ../shared/data and on the 10 labelled (small, 10-25 px) hands of the COCO-WholeBody
  sample, crops seeded from the ground-truth wrist / index / pinky knuckles
  (points 0, 5, 17) as tests/test_face_hand.py does (``hand_rect_from_body`` defaults, which is
  what the whole-body estimator passes), and again with those seed points jittered (normal,
  sigma 0.08 of the hand size, 5 fixed draws) as a stand-in for the body model's error;
  ``recrop`` also with MediaPipe's own re-crop input (scale 2.7, shift -0.1), row ``recrop@2.7``;
* hand AP on the COCO-WholeBody samples with the ground-truth boxes and end to end (detector
  included), ``alphapose run --hand-refine MODE --hand-model MODEL`` evaluated as
  bench/accuracy.py does;
* CPU milliseconds per hand (``time.thread_time``, one interpreter thread, median of rounds).

Last line: ``key=value`` pairs: ``<mode>_<cause>``, ``<mode>_hand_ap_<variant>`` and
``<mode>_halpe_oks_<variant>``,
``pck_<model>_<size>px`` (also ``pck_noisy_...``, ``pck_degraded_...`` and their means over
12-32 px ``pck_..._12_32px``), then (without ``--causes``) ``pck_fh_<mode>_<model>``,
``pck_oh_...``,
``pck_coco_...``, ``pck_noisy_...`` (all sources), ``hand_ap_gt_...``, ``hand_ap_...`` (end to end), ``ms_...``.

Usage: ``.venv/bin/python bench/hands.py [--data ../shared/data] [--rounds 3] [--no-e2e]
[--causes] [--modes balanced,performance] [--palm palm_detection_full.tflite]
[--set FIELD=VALUE ...] [--no-sweep]`` (``--causes``: only the first two parts; ``--set``: an
estimator setting on top of each mode's, e.g. ``--set body_models=full,heavy``;
``--no-sweep``: without the hand size sweep).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from alphapose.estimators.face_hand import HandLandmarker, hand_rect_from_body

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("landmarks", "recrop", "none", "ensemble")
MODELS = ("lite", "full")
JITTER = 0.08
DRAWS = 5


def load_hands(data: Path) -> list[dict]:
    """Labelled hands whose wrist and index / pinky knuckles are all labelled."""
    hands = []
    for name in ("freihand", "onehand10k"):
        spec = json.loads((data / "mmpose" / name / f"test_{name}.json").read_text())
        files = {im["id"]: im["file_name"] for im in spec["images"]}
        for ann in spec["annotations"]:
            kp = np.array(ann["keypoints"], np.float64).reshape(21, 3)
            if not (kp[[0, 5, 17], 2] > 0).all():
                continue
            visible = kp[:, 2] > 0
            gt = kp[:, :2]
            size = float((gt[visible].max(0) - gt[visible].min(0)).max())
            image = cv2.imread(str(data / "mmpose" / name / files[ann["image_id"]]))
            hands.append({"source": name, "image": image, "gt": gt, "visible": visible, "size": size})
    coco = data / "mmpose" / "coco"
    spec = json.loads((coco / "test_coco_wholebody.json").read_text())
    files = {im["id"]: im["file_name"] for im in spec["images"]}
    for ann in spec["annotations"]:
        for side in ("lefthand", "righthand"):
            kp = np.array(ann[f"{side}_kpts"], np.float64).reshape(21, 3)
            if not (ann.get(f"{side}_valid") and (kp[[0, 5, 17], 2] > 0).all()):
                continue
            visible = kp[:, 2] > 0
            gt = kp[:, :2]
            size = float((gt[visible].max(0) - gt[visible].min(0)).max())
            image = cv2.imread(str(coco / files[ann["image_id"]]))
            hands.append({"source": "coco", "image": image, "gt": gt, "visible": visible,
                          "size": size})
    return hands


def errors_of(model: HandLandmarker, hands: list[dict], *, jitter: float = 0.0,
              scale: float = 2.0, shift: float = -0.3) -> dict[str, np.ndarray]:
    """Per visible point error over hand size, per source."""
    rng = np.random.default_rng(0)
    out: dict[str, list[np.ndarray]] = {}
    for hand in hands:
        for _ in range(DRAWS if jitter else 1):
            seeds = hand["gt"][[0, 5, 17]].copy()
            if jitter:
                seeds += rng.normal(0.0, jitter * hand["size"], seeds.shape)
            rect = hand_rect_from_body(*seeds, scale=scale, shift=shift)
            points = model(hand["image"], rect).points
            err = np.linalg.norm(points - hand["gt"], axis=1)[hand["visible"]] / hand["size"]
            out.setdefault(hand["source"], []).append(err)
    return {k: np.concatenate(v) for k, v in out.items()}


def ms_per_hand(model: HandLandmarker, hands: list[dict], rounds: int) -> float:
    """Median over rounds of the CPU time per hand call (thread time, 1 interpreter thread)."""
    rects = [hand_rect_from_body(*h["gt"][[0, 5, 17]]) for h in hands]
    model(hands[0]["image"], rects[0])  # warm-up
    per_round = []
    for _ in range(rounds):
        start = time.thread_time()
        for hand, rect in zip(hands, rects):
            model(hand["image"], rect)
        per_round.append((time.thread_time() - start) / len(hands) * 1e3)
    return float(np.median(per_round))


def hand_ap(data: Path, mode: str, model: str, work: Path) -> tuple[float, float]:
    """COCO-WholeBody hand AP with the ground-truth boxes and end to end."""
    from accuracy import evaluate, run_cli

    coco = data / "mmpose" / "coco"
    coco_gt = json.loads((coco / "test_coco.json").read_text())
    wholebody_gt = json.loads((coco / "test_coco_wholebody.json").read_text())
    extra = ["--hand-refine", mode, "--hand-model", model]
    with_gt, _ = run_cli(coco, work / f"{mode}-{model}-gt",
                         [*extra, "--detfile", str(coco / "test_coco.json")])
    e2e, _ = run_cli(coco, work / f"{mode}-{model}", extra)
    return (evaluate(with_gt, coco_gt, wholebody_gt)["wb_hand"],
            evaluate(e2e, coco_gt, wholebody_gt)["wb_hand"])


# --------------------------------------------------------------------- why COCO hands fail

COCO_HAND_SLOTS = {"left": slice(91, 112), "right": slice(112, 133)}  # COCO-WholeBody-133
BLAZE_HAND_POINTS = {"left": (15, 19, 17, 13), "right": (16, 20, 18, 14)}  # wrist, index,
# pinky knuckles, elbow (BlazePose-33)
SWEEP_SIZES = (12, 16, 20, 24, 32, 48, 64, 96)


def keypoint_similarity(pred: np.ndarray, gt: np.ndarray, sigmas: np.ndarray,
                        area: float) -> np.ndarray:
    """COCO's per-keypoint similarity ``exp(-d^2 / (2 area (2 sigma)^2))`` (OKS is its mean
    over labelled points)."""
    d2 = ((pred - gt) ** 2).sum(-1)
    return np.exp(-d2 / (2.0 * (2.0 * sigmas) ** 2 * (area + np.spacing(1))))


def inside_rect(rect, points: np.ndarray) -> np.ndarray:
    """Which ``(N, 2)`` image points lie inside the rotated crop ``rect``."""
    c, s = np.cos(rect.rotation), np.sin(rect.rotation)
    rel = points - np.array([rect.cx, rect.cy])
    u, v = rel @ np.array([c, s]), rel @ np.array([-s, c])
    return (np.abs(u) <= rect.width / 2) & (np.abs(v) <= rect.height / 2)


def run_mode_recording(data: Path, mode: str, **overrides) -> tuple[dict, list[dict]]:
    """The mode's pipeline (as ``alphapose run --mode``) on the 4 COCO images, in process
    (``overrides``: estimator settings on top of the mode's).

    Returns ``(images, people)``: every output pose with the body it came from (BlazePose-33
    points and visibilities) and its COCO-WholeBody-133 result entry.
    """
    from alphapose.estimators.blaze import BLAZE_TO_COCO17, BlazeWholeBody
    from alphapose.modes import build_detector, estimator_config
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.skeletons import convert_poses

    class Recording(BlazeWholeBody):
        """The estimator, keeping every body whose hands and face it estimates (``seen``,
        emptied per image)."""

        def part_crops(self, body):
            self.seen.append(body)
            return super().part_crops(body)

    coco = data / "mmpose" / "coco"
    spec = json.loads((coco / "test_coco_wholebody.json").read_text())
    detector, name = build_detector(mode)
    config = estimator_config(mode, **overrides)
    estimator = Recording(config.for_detector_boxes() if name != "blaze" else config)
    pipeline = Pipeline(detector, estimator, mode=mode, run=RunOptions(sp=True))
    images, people = {}, []
    for im in spec["images"]:
        image = cv2.imread(str(coco / im["file_name"]))
        images[im["id"]] = image
        estimator.seen = []
        poses = pipeline.predict(image)
        wholebody = convert_poses(poses, "coco_wholebody133")
        for n in range(len(poses)):
            # the body whose COCO-17 points the pose carries (pose NMS may merge a little)
            gaps = [np.abs(b.points[BLAZE_TO_COCO17] - poses.keypoints[n, :17]).mean()
                    for b in estimator.seen]
            body = estimator.seen[int(np.argmin(gaps))]
            people.append({"image_id": im["id"], "body": body,
                           "keypoints": wholebody.keypoints[n].astype(np.float64),
                           "scores": wholebody.keypoint_scores[n].astype(np.float64),
                           "score": float(poses.scores[n])})
    return images, people


def best_person(people: list[dict], image_id: int, body: np.ndarray, area: float,
                sigmas: np.ndarray) -> tuple[dict, float] | None:
    """The output pose of ``image_id`` whose COCO-17 body matches a labelled ``body``
    ``(17, 3)`` best (mean OKS over its labelled points), with that OKS; None when the image
    has no pose or the body no labelled point."""
    mine = [p for p in people if p["image_id"] == image_id]
    labelled = body[:, 2] > 0
    if not mine or not labelled.any():
        return None
    body_oks = [keypoint_similarity(p["keypoints"][:17], body[:, :2], sigmas[:17],
                                    area)[labelled].mean() for p in mine]
    best = int(np.argmax(body_oks))
    return mine[best], float(body_oks[best])


def halpe_hands(data: Path, people: list[dict]) -> list[dict]:
    """The Halpe-FullBody hand labels of the same 4 images (other annotators; two hands that
    COCO-WholeBody leaves out), each with at least 3 labelled points, paired with the output
    pose whose body matches its person best; COCO-WholeBody hand sigmas (the same 21 points)."""
    from alphapose.skeletons import get_layout

    sigmas = get_layout("coco_wholebody133").sigmas
    spec = json.loads((data / "mmpose" / "halpe" / "test_halpe.json").read_text())
    hands = []
    for ann in spec["annotations"]:
        kp = np.array(ann["keypoints"], np.float64).reshape(136, 3)
        match = best_person(people, ann["image_id"], kp[:17], ann["area"], sigmas)
        if match is None:
            continue
        person = match[0]
        for side, start in (("left", 94), ("right", 115)):  # Halpe-136 hand slots
            hand = kp[start:start + 21]
            if (hand[:, 2] > 0).sum() >= 3:
                hands.append({"side": side, "gt": hand[:, :2], "visible": hand[:, 2] > 0,
                              "area": float(ann["area"]), "person": person,
                              "sigmas": sigmas[COCO_HAND_SLOTS[side]]})
    return hands


def labelled_hands(data: Path, people: list[dict]) -> list[dict]:
    """Each labelled COCO-WholeBody hand with the output pose whose body matches its person
    best (COCO-17 OKS; the hand's own ``sigmas`` and the person's area for its OKS)."""
    from alphapose.skeletons import get_layout

    sigmas = get_layout("coco_wholebody133").sigmas
    spec = json.loads((data / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    hands = []
    for ann in spec["annotations"]:
        body = np.array(ann["keypoints"], np.float64).reshape(17, 3)
        match = best_person(people, ann["image_id"], body, ann["area"], sigmas)
        if match is None:
            continue
        person, body_oks = match
        for side in ("left", "right"):
            kp = np.array(ann[f"{side}hand_kpts"], np.float64).reshape(21, 3)
            visible = kp[:, 2] > 0
            if not visible.any():
                continue
            other = np.array(ann[f"{'right' if side == 'left' else 'left'}hand_kpts"],
                             np.float64).reshape(21, 3)
            hands.append({"image_id": ann["image_id"], "side": side, "gt": kp[:, :2],
                          "visible": visible, "other": other, "area": float(ann["area"]),
                          "size": float((kp[visible, :2].max(0) - kp[visible, :2].min(0)).max()),
                          "person": person, "body_oks": body_oks,
                          "sigmas": sigmas[COCO_HAND_SLOTS[side]]})
    return hands


def hand_variants(mode: str, palm: Path | None = None) -> dict:
    """``name -> (image, body, side) -> (points (21, 2), scores (21,))``: the hand rules
    compared (the mode's own first; with ``palm``, :class:`PalmSeeds` crops too)."""
    from alphapose.estimators.face_hand import hand_rect_from_body
    from alphapose.modes import get_mode
    from alphapose.transforms import RotatedRect

    preset = get_mode(mode)
    model = {(v, r): HandLandmarker(v, num_threads=1, refine=r)
             for v in MODELS for r in MODES}

    def body_rect(body, side, **kw):
        wrist, index, pinky, _ = BLAZE_HAND_POINTS[side]
        return hand_rect_from_body(body.points[wrist], body.points[index], body.points[pinky],
                                   **kw)

    def landmarker(variant=preset.hand_model, refine=preset.hand_refine,
                   floor=preset.hand_crop_forearm, **kw):
        seed = {"scale": 2.7, "shift": -0.1} if refine == "recrop" else {}
        seed.update(kw)

        def run(image, body, side):
            # as the estimator: below ``floor`` forearms, also a forearm-long crop, the more
            # present result kept (BlazeWholeBodyConfig.hand_crop_forearm)
            rect = body_rect(body, side, **seed)
            wrist, _, _, elbow = BLAZE_HAND_POINTS[side]
            fore = floor * float(np.hypot(*(body.points[wrist] - body.points[elbow])))
            landmarks = model[(variant, refine)]
            hand = (landmarks.most_present(image, [rect, body_rect(body, side, **seed,
                                                                  min_side=fore)])
                    if fore > rect.width else landmarks(image, rect))
            return hand.points, hand.scores
        return run

    def forearm_floor(image, body, side):
        # crop side at least the forearm's length, always (no choice by presence)
        wrist, _, _, elbow = BLAZE_HAND_POINTS[side]
        rect = body_rect(body, side)
        fore = float(np.hypot(*(body.points[wrist] - body.points[elbow])))
        if fore > rect.width:
            f = fore / rect.width
            wx, wy = body.points[wrist]
            rect = RotatedRect(wx + (rect.cx - wx) * f, wy + (rect.cy - wy) * f, fore, fore,
                               rect.rotation)
        hand = model[(preset.hand_model, preset.hand_refine)](image, rect)
        return hand.points, hand.scores

    def most_present(image, body, side):
        rect = body_rect(body, side)
        best = None
        for f in (1.0, 0.75):
            hand = model[(preset.hand_model, preset.hand_refine)](
                image, RotatedRect(rect.cx, rect.cy, rect.width * f, rect.height * f,
                                   rect.rotation))
            best = hand if best is None or hand.presence > best.presence else best
        return best.points, best.scores

    def flip_average(image, body, side):
        rect = body_rect(body, side)
        width = image.shape[1]
        hand = model[(preset.hand_model, preset.hand_refine)](image, rect)
        mirrored = model[(preset.hand_model, preset.hand_refine)](
            np.ascontiguousarray(image[:, ::-1]),
            RotatedRect(width - 1 - rect.cx, rect.cy, rect.width, rect.height, -rect.rotation))
        back = mirrored.points.copy()
        back[:, 0] = width - 1 - back[:, 0]
        return (hand.points + back) / 2, (hand.scores + mirrored.scores) / 2

    def wrist_only(image, body, side):
        wrist = BLAZE_HAND_POINTS[side][0]
        return np.repeat(body.points[wrist][None], 21, 0), np.full(21, body.visibility[wrist])

    def occluded_dropped(image, body, side):
        points, scores = landmarker()(image, body, side)
        wrist = BLAZE_HAND_POINTS[side][0]
        return points, scores * (body.visibility[wrist] >= 0.5)

    other = "full" if preset.hand_model == "lite" else "lite"
    extra = {}
    if palm is not None:
        seeds = PalmSeeds(palm)

        def palm_seeded(image, body, side):
            hand = model[(preset.hand_model, preset.hand_refine)](
                image, seeds.rect(image, body_rect(body, side)))
            return hand.points, hand.scores
        extra["palm_seeded"] = palm_seeded
    # the other model alone (with the mode's passes; the ensemble runs both models)
    other_refine = "landmarks" if preset.hand_refine == "ensemble" else preset.hand_refine
    return {"mode": landmarker(), other: landmarker(variant=other, refine=other_refine),
            "one_pass": landmarker(refine="none"), "recrop": landmarker(refine="recrop"),
            "landmarks": landmarker(refine="landmarks"),
            "no_forearm_choice": landmarker(floor=0.0),
            "ensemble": landmarker(refine="ensemble"),
            "scale1.5": landmarker(scale=1.5), "scale2.7": landmarker(scale=2.7),
            "forearm_floor": forearm_floor, "most_present": most_present,
            "flip_avg": flip_average, "wrist_only": wrist_only,
            "occluded_zero": occluded_dropped, **extra}


class PalmSeeds:
    """Hand crops seeded by MediaPipe's palm detector inside a wrist ROI (a bench variant: the
    palm model is not in the zoo; pass its ``.tflite`` from the ``mediapipe==0.10.14`` wheel,
    ``mediapipe/modules/palm_detection/palm_detection_{lite,full}.tflite``, with ``--palm``).

    The ROI is the body-placed hand crop enlarged ``roi_scale`` times, warped to the model's
    192 x 192 input; the most confident of its 2016 anchors (strides 8 and 16, 2 and 6 anchors
    per cell) gives a palm box and 7 points, and, above ``min_score``, the hand crop: centred on
    the box moved half its height towards the fingers, turned so that the wrist point (0) ->
    middle-knuckle point (2) is "up", side 2.6 times the box's long side (MediaPipe's rule).
    Below ``min_score`` the body-placed crop is kept.
    """

    def __init__(self, path: Path, roi_scale: float = 1.5, min_score: float = 0.3) -> None:
        from alphapose.runtime.litert import LiteRTModel

        self.model = LiteRTModel(path, num_threads=1)
        self.roi_scale, self.min_score = roi_scale, min_score
        cells = []
        for stride, per_cell in ((8, 2), (16, 6)):
            grid = 192 // stride
            cells += [((x + 0.5) / grid, (y + 0.5) / grid)
                      for y in range(grid) for x in range(grid) for _ in range(per_cell)]
        self.anchors = np.array(cells) * 192.0  # anchor centres in input pixels (edges at 0)

    def rect(self, image: np.ndarray, rect):
        """The palm-seeded crop for the body-placed ``rect`` (or ``rect`` itself)."""
        from alphapose.codecs import sigmoid
        from alphapose.estimators.face_hand import _unit_tensor
        from alphapose.transforms import RotatedRect, apply_affine, warp_crop

        roi = RotatedRect(rect.cx, rect.cy, rect.width * self.roi_scale,
                          rect.height * self.roi_scale, rect.rotation)
        crop, img_from_crop = warp_crop(image, roi, 192, 192, rgb=True)
        boxes, logits = self.model(_unit_tensor(crop))
        best = int(np.argmax(logits[0, :, 0]))
        if sigmoid(np.clip(logits[0, best, 0], -100, 100)) < self.min_score:
            return rect
        raw = boxes[0, best]
        points = np.vstack([raw[:2], raw[4:].reshape(7, 2)]) + self.anchors[best]
        centre, wrist, _, middle = apply_affine(points - 0.5, img_from_crop)[:4]
        pixel = roi.width / 192.0
        width, height = raw[2] * pixel, raw[3] * pixel
        up = middle - wrist
        rotation = float(np.arctan2(up[0], -up[1]))  # the crop's "up" along wrist -> middle
        # half the box height towards the fingers: along the crop's -y axis (sin r, -cos r)
        cx = centre[0] + 0.5 * height * np.sin(rotation)
        cy = centre[1] - 0.5 * height * np.cos(rotation)
        side = 2.6 * float(max(width, height))
        return RotatedRect(float(cx), float(cy), side, side, rotation) if side >= 2 else rect


def causes(data: Path, mode: str, palm: Path | None = None,
           overrides: dict | None = None) -> dict[str, float]:
    """Per-cause figures of the mode's hands on the labelled COCO-WholeBody hands, and hand AP
    end to end with each variant's hands put in the mode's output poses (``overrides``:
    estimator settings on top of the mode's, ``--set``)."""
    from accuracy import evaluate

    from alphapose.estimators.face_hand import hand_rect_from_body
    from alphapose.modes import get_mode

    coco = data / "mmpose" / "coco"
    coco_gt = json.loads((coco / "test_coco.json").read_text())
    wholebody_gt = json.loads((coco / "test_coco_wholebody.json").read_text())
    images, people = run_mode_recording(data, mode, **(overrides or {}))
    hands = labelled_hands(data, people)
    halpe = halpe_hands(data, people)
    variants = hand_variants(mode, palm)
    # per-hand OKS of each variant, and end-to-end AP with its hands in every output pose
    per_hand: dict[str, list[float]] = {}
    ap: dict[str, float] = {}
    for name, rule in tqdm(variants.items(), desc=f"{mode}: hand variants", leave=False):
        results = []
        for person in people:
            keypoints, scores = person["keypoints"].copy(), person["scores"].copy()
            for side, slot in COCO_HAND_SLOTS.items():
                keypoints[slot], scores[slot] = rule(images[person["image_id"]],
                                                     person["body"], side)
            person[name] = keypoints
            results.append({"image_id": person["image_id"], "category_id": 1,
                            "keypoints": np.c_[keypoints, scores].ravel().tolist(),
                            "score": person["score"]})
        ap[name] = evaluate(results, coco_gt, wholebody_gt)["wb_hand"]
        per_hand[name], per_hand[f"halpe_{name}"] = (
            [float(keypoint_similarity(h["person"][name][COCO_HAND_SLOTS[h["side"]]], h["gt"],
                                       h["sigmas"], h["area"])[h["visible"]].mean())
             for h in labelled] for labelled in (hands, halpe))
    # the crop placed from the ground-truth wrist / knuckles: what a perfect body would give
    preset = get_mode(mode)
    oracle = HandLandmarker(preset.hand_model, num_threads=1, refine=preset.hand_refine)
    per_hand["gt_seeded"] = []
    rows = []
    for h in hands:
        image, body = images[h["image_id"]], h["person"]["body"]
        wrist, index, pinky, _ = BLAZE_HAND_POINTS[h["side"]]
        rect = hand_rect_from_body(body.points[wrist], body.points[index], body.points[pinky])
        seeded = oracle(image, hand_rect_from_body(*h["gt"][[0, 5, 17]]))
        per_hand["gt_seeded"].append(float(keypoint_similarity(
            seeded.points, h["gt"], h["sigmas"], h["area"])[h["visible"]].mean()))
        slot = COCO_HAND_SLOTS[h["side"]]
        other_slot = COCO_HAND_SLOTS["right" if h["side"] == "left" else "left"]
        mine = h["person"]["mode"]
        own = per_hand["mode"][len(rows)]
        swapped = float(keypoint_similarity(h["person"]["mode"][other_slot], h["gt"],
                                            h["sigmas"], h["area"])[h["visible"]].mean())
        rows.append({
            "size": h["size"], "own": own, "swapped": swapped,
            "inside": float(inside_rect(rect, h["gt"][h["visible"]]).mean()),
            "crop_over_hand": rect.width / h["size"],
            "wrist_err": float(np.hypot(*(body.points[wrist] - h["gt"][0]))) / h["size"],
            "wrist_vis": float(body.visibility[wrist]),
            "presence": float(h["person"]["scores"][slot].max()),
            "body_oks": h["body_oks"],
            "mine_wrist_gap": float(np.hypot(*(mine[slot][0] - body.points[wrist]))) / h["size"]})
    print(f"\n{mode}: {len(hands)} labelled hands on the COCO images, matched to output poses")
    print(f"{'image':>7s}{'side':>6s}{'size px':>8s}{'body OKS':>9s}{'wrist vis':>10s}"
          f"{'wrist err':>10s}{'crop/hand':>10s}{'in crop':>8s}{'presence':>9s}{'OKS':>6s}"
          f"{'swapOKS':>8s}{'gt-seed':>8s}  cause")
    for h, r, seeded in zip(hands, rows, per_hand["gt_seeded"]):
        print(f"{h['image_id']:7d}{h['side']:>6s}{r['size']:8.1f}{r['body_oks']:9.2f}"
              f"{r['wrist_vis']:10.2f}{r['wrist_err']:10.2f}{r['crop_over_hand']:10.1f}"
              f"{r['inside']:8.2f}{r['presence']:9.2f}{r['own']:6.2f}{r['swapped']:8.2f}"
              f"{seeded:8.2f}  {hand_cause(r)}")
    good = [r for r in rows if r["own"] >= 0.5]
    figures = {
        "hands": len(rows), "size_median_px": float(np.median([r["size"] for r in rows])),
        "crop_miss": sum(r["inside"] < 0.5 for r in rows),
        # the points sit on the person's other hand (clearly: OKS to it at least 0.3)
        "swaps": sum(r["swapped"] > max(r["own"], 0.3) for r in rows),
        "body_wrong": sum(r["body_oks"] < 0.5 for r in rows),
        "good": len(good),
        "good_presence_below_0.5": sum(r["presence"] < 0.5 for r in good),
        "wrist_err_median": float(np.median([r["wrist_err"] for r in rows])),
        "oks_gt_seeded": float(np.mean(per_hand["gt_seeded"])),
    }
    print("causes: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in figures.items()))
    print(f"{'variant':16s}{'mean hand OKS':>14s}{'hand AP e2e':>12s}"
          f"{f'Halpe OKS ({len(halpe)})':>18s}")
    for name in variants:
        print(f"{name:16s}{np.mean(per_hand[name]):14.3f}{ap[name]:12.3f}"
              f"{np.mean(per_hand[f'halpe_{name}']):18.3f}")
    print(f"{'gt_seeded':16s}{np.mean(per_hand['gt_seeded']):14.3f}{'-':>12s}")
    out = {f"{mode}_{k}": float(v) for k, v in figures.items()}
    out.update({f"{mode}_hand_ap_{k}": v for k, v in ap.items()})
    out.update({f"{mode}_halpe_oks_{k}": float(np.mean(per_hand[f"halpe_{k}"])) for k in ap})
    return out


def hand_cause(row: dict) -> str:
    """Why one labelled hand got the OKS it got (first cause that applies): ``ok`` (OKS >= 0.5),
    ``wrong body`` (its person's body OKS < 0.5: the points belong to someone else),
    ``swap`` (the person's other output hand fits it better), ``crop miss`` (under half its
    points inside the crop the body placed), ``tiny`` (under 12 px), else ``model`` (the crop
    holds the hand, the hand model misplaces the points: blur, gloves, a fist)."""
    if row["own"] >= 0.5:
        return "ok"
    if row["body_oks"] < 0.5:
        return "wrong body"
    if row["swapped"] > max(row["own"], 0.3):
        return "swap"
    if row["inside"] < 0.5:
        return "crop miss"
    return "tiny" if row["size"] < 12 else "model"


def degrade(image: np.ndarray) -> np.ndarray:
    """A photo's losses on a clean image: Gaussian blur (sigma 0.8 px) and JPEG at quality 70."""
    blurred = cv2.GaussianBlur(image, (0, 0), 0.8)
    return cv2.imdecode(cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 70])[1],
                        cv2.IMREAD_COLOR)


def size_sweep(data: Path, rounds_jitter: float = JITTER) -> dict[str, float]:
    """PCK@0.2 of the hand size on the FreiHAND / OneHand10K hands scaled down so that each is
    ``SWEEP_SIZES`` px (area resampling, as a camera further away), crops seeded from their
    labelled wrist / knuckles, exact and jittered, and jittered on the scaled image blurred and
    JPEG-compressed (:func:`degrade`, as in a photo): which hand sizes the hand models (and the
    two-model ensemble, ``refine="ensemble"``) handle. Every model sees the same seeds."""
    hands = [h for h in load_hands(data) if h["source"] != "coco"]
    models = {v: HandLandmarker(v, num_threads=1) for v in MODELS}
    models["ensemble"] = HandLandmarker("full", num_threads=1, refine="ensemble")
    out: dict[str, float] = {}
    print(f"\nhand size sweep ({len(hands)} FreiHAND / OneHand10K hands scaled down; "
          f"~: seeds jittered by {rounds_jitter:.2f} of the hand size, {DRAWS} draws; "
          f"#: jittered, image blurred and JPEG-compressed)")
    print(f"{'size px':>8s}" + "".join(f"{f'PCK {v}':>14s}{f'~ {v}':>12s}{f'# {v}':>12s}"
                                       for v in models))
    for target in SWEEP_SIZES:
        line = f"{target:8d}"
        for variant, model in models.items():
            rng = np.random.default_rng(target)  # the same draws for every model
            exact, noisy, degraded = [], [], []
            for hand in hands:
                f = min(1.0, target / hand["size"])
                small = cv2.resize(hand["image"], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
                lossy = degrade(small)
                gt = (hand["gt"] + 0.5) * f - 0.5  # pixel centres at integers
                size = hand["size"] * f
                for draw in range(DRAWS + 1):
                    seeds = gt[[0, 5, 17]].copy()
                    if draw:
                        seeds += rng.normal(0.0, rounds_jitter * size, seeds.shape)
                    rect = hand_rect_from_body(*seeds)
                    for image, into in ((small, noisy if draw else exact),
                                        *(((lossy, degraded),) if draw else ())):
                        points = model(image, rect).points
                        into.append(np.linalg.norm(points - gt, axis=1)[hand["visible"]] / size)
            pck, pck_noisy, pck_degraded = (float(np.mean(np.concatenate(e) < 0.2))
                                            for e in (exact, noisy, degraded))
            line += f"{pck:14.2f}{pck_noisy:12.2f}{pck_degraded:12.2f}"
            out[f"pck_{variant}_{target}px"] = pck
            out[f"pck_noisy_{variant}_{target}px"] = pck_noisy
            out[f"pck_degraded_{variant}_{target}px"] = pck_degraded
        print(line, flush=True)
    for variant in models:
        for kind in ("", "noisy_", "degraded_"):
            out[f"pck_{kind}{variant}_12_32px"] = float(np.mean(
                [out[f"pck_{kind}{variant}_{t}px"] for t in SWEEP_SIZES if t <= 32]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end hand AP")
    parser.add_argument("--causes", action="store_true",
                        help="only the per-cause analysis and the hand size sweep")
    parser.add_argument("--modes", default="balanced,performance",
                        help="modes of the per-cause analysis (comma separated)")
    parser.add_argument("--palm", type=Path,
                        help="palm_detection_lite/full.tflite: also palm-seeded hand crops")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="estimator setting on top of the mode's (as bench/accuracy_people.py)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the hand size sweep")
    args = parser.parse_args()
    if not (args.data / "mmpose" / "freihand").is_dir():
        sys.exit(f"bench/hands.py: {args.data} has no mmpose/freihand (pass --data)")
    from accuracy_people import parse_overrides

    overrides = parse_overrides(args.set)
    figures: dict[str, float] = {}
    for mode in args.modes.split(","):
        figures.update(causes(args.data, mode.strip(), args.palm, overrides))
    if not args.no_sweep:
        figures.update(size_sweep(args.data))
    if not args.causes:
        figures.update(refine_modes(args))
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()))


def refine_modes(args: argparse.Namespace) -> dict[str, float]:
    """The refine modes x hand models table (the first part of this module's docstring)."""
    hands = load_hands(args.data)
    counts = {s: sum(h["source"] == s for h in hands) for s in ("freihand", "onehand10k", "coco")}
    print(f"\nhands seeded from labelled wrist/knuckles: {counts}")
    work = Path(tempfile.mkdtemp(prefix="alphapose-hands-"))
    figures: dict[str, float] = {}
    header = (f"{'mode':12s}{'model':6s}{'PCK fh':>8s}{'err fh':>8s}{'PCK oh':>8s}{'err oh':>8s}"
              f"{'PCK coco':>9s}{'PCK all~':>9s}{'err all~':>9s}{'AP gtbox':>9s}{'AP e2e':>8s}"
              f"{'ms/hand':>9s}")
    print(f"{header}\n(~: seeds jittered by {JITTER:.2f} of the hand size, {DRAWS} draws)")
    rows = [(m, v, 2.0, -0.3) for m in MODES for v in MODELS]
    rows += [("recrop@2.7", v, 2.7, -0.1) for v in MODELS]
    for mode, variant, scale, shift in rows:
        refine = mode.split("@")[0]
        model = HandLandmarker(variant, num_threads=1, refine=refine)
        clean = errors_of(model, hands, scale=scale, shift=shift)
        noisy = errors_of(model, hands, jitter=JITTER, scale=scale, shift=shift)
        pck = {k: float(np.mean(v < 0.2)) for k, v in clean.items()}
        noisy_all = np.concatenate(list(noisy.values()))
        ms = ms_per_hand(model, hands, args.rounds) if "@" not in mode else float("nan")
        ap_gt, ap = ((float("nan"),) * 2 if args.no_e2e or "@" in mode
                     else hand_ap(args.data, refine, variant, work))
        print(f"{mode:12s}{variant:6s}{pck['freihand']:8.3f}{clean['freihand'].mean():8.3f}"
              f"{pck['onehand10k']:8.3f}{clean['onehand10k'].mean():8.3f}{pck['coco']:9.3f}"
              f"{np.mean(noisy_all < 0.2):9.3f}{noisy_all.mean():9.3f}{ap_gt:9.3f}{ap:8.3f}"
              f"{ms:9.2f}", flush=True)
        key = f"{mode.replace('@2.7', '27')}_{variant}"
        figures.update({f"pck_fh_{key}": pck["freihand"], f"pck_oh_{key}": pck["onehand10k"],
                        f"pck_coco_{key}": pck["coco"],
                        f"pck_noisy_{key}": float(np.mean(noisy_all < 0.2))})
        if "@" not in mode:
            figures[f"ms_{key}"] = ms
            if not args.no_e2e:
                figures[f"hand_ap_gt_{key}"] = ap_gt
                figures[f"hand_ap_{key}"] = ap
    return figures

if __name__ == "__main__":
    main()
