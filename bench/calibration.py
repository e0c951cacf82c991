"""Keypoint-score calibration per part (body, foot, face, hand) of the embedded default.

A point is *right* when COCO-WholeBody's keypoint similarity ``exp(-d^2 / (2 area (2 sigma)^2))``
reaches 0.5 (the part's sigmas, the person's area), the criterion behind AP at OKS 0.5.

* Test (plotted, never fitted on): the 4 COCO-WholeBody images end to end with ``--mode M``
  (``bench/hands.py``'s in-process run); each labelled point of each person paired with an
  output pose, its score and whether it is right.
* Held out (fitted on): body points on the 3 labelled PoseTrack18 frames end to end (area = 0.53
  of the box, COCO's usual ratio of segment to box area); hands on the FreiHAND / OneHand10K
  images scaled down to 12-64 px with the crop seeded from their labelled wrist / knuckles,
  jittered like a body model's error (0-0.5 of the hand size), and faces on the dlib / 300-W
  images scaled to 20-96 px with jittered seed points, the mode's hand / face models: right when
  the error is under the similarity-0.5 distance for a hand 0.15 (face 0.2) of ``sqrt(area)``,
  a standing adult's proportions.

Per part: the expected calibration error (ECE, 10 bins) of the raw scores and of the fitted ones
(isotonic maps fitted on the held-out data, :class:`alphapose.calibration.ScoreCalibration`), on
the held-out data and on the test images; for hands also the estimator's optional calibrated
scores (``calibrated_hand_scores``: the fitted hand map, stored as
``face_hand.HAND_SCORE_CURVE``, times the body's wrist visibility). End-to-end AP per part with
raw, fitted and output scores (scores do not move the points: AP changes only through results
left out for an all-zero part) and with the pipeline run again with calibrated hand scores (pose
NMS ranks people by the mean of all their scores, so that can change who is kept).
A reliability plot per part (fraction right against mean score per bin) is written to
``out/calibration/reliability_<mode>.png``. ``--fit`` prints the fitted curves as Python.

Last line: ``mode=M`` then ``heldout_ece_<part>_raw/_fit``, ``ece_<part>_raw/_fit/_out`` (test
images), ``ece_hand_cal`` and ``ap_<part>_raw/_fit/_out/_calhands``.

Usage: ``.venv/bin/python bench/calibration.py [--data ../shared/data] [--mode balanced] [--fit]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from alphapose.calibration import (
    ScoreCalibration,
    expected_calibration_error,
    fit_isotonic,
)
from alphapose.skeletons import get_layout

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

PARTS = {"body": slice(0, 17), "foot": slice(17, 23), "face": slice(23, 91),
         "hand": slice(91, 133)}
SIM_HALF = math.sqrt(2.0 * math.log(2.0))  # d / (2 sigma sqrt(area)) at similarity 0.5
PART_OVER_SQRT_AREA = {"hand": 0.15, "face": 0.2}
HAND_SIZES, HAND_JITTERS = (12, 16, 24, 32, 64), (0.0, 0.15, 0.3, 0.5)
FACE_SIZES, FACE_JITTERS = (20, 32, 48, 96), (0.0, 0.1, 0.25)


def tolerance(part: str) -> float:
    """Error over the part's size at which a mean-sigma point of the part has similarity 0.5."""
    sigmas = get_layout("coco_wholebody133").sigmas[PARTS[part]]
    return SIM_HALF * 2.0 * float(np.mean(sigmas)) / PART_OVER_SQRT_AREA[part]


# ------------------------------------------------------------------------------- test images

def test_people(data: Path, mode: str) -> list[dict]:
    """The mode's output poses on the COCO images (``bench/hands.py``'s in-process run), each
    with ``raw``: its scores with the hands' raw presence (the hand model run again on the
    body's crops) in place of the estimator's hand scores."""
    from hands import COCO_HAND_SLOTS, hand_variants, run_mode_recording

    from alphapose.estimators.face_hand import hand_keypoint_scores

    images, people = run_mode_recording(data, mode)
    rule = hand_variants(mode)["mode"]
    for person in people:
        person["raw"] = person["scores"].copy()
        person["cal"] = person["scores"].copy()
        for (side, slot), wrist in zip(COCO_HAND_SLOTS.items(), (15, 16)):
            person["raw"][slot] = rule(images[person["image_id"]], person["body"], side)[1]
            person["cal"][slot] = hand_keypoint_scores(person["raw"][slot],
                                                       person["body"].visibility[wrist])
    return people


def test_points(data: Path, people: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """Per part ``{"raw", "out", "cal", "right"}`` over the labelled points of the COCO images:
    raw and output scores, the scores with ``calibrated_hand_scores`` and whether the point is
    right."""
    from hands import keypoint_similarity

    sigmas = get_layout("coco_wholebody133").sigmas
    spec = json.loads((data / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    out: dict[str, dict[str, list]] = {p: {"raw": [], "out": [], "cal": [], "right": []}
                                       for p in PARTS}
    for ann in spec["annotations"]:
        gt = np.concatenate([np.array(ann.get(k) or [0.0] * 3 * n, np.float64).reshape(n, 3)
                             for k, n in (("keypoints", 17), ("foot_kpts", 6),
                                          ("face_kpts", 68), ("lefthand_kpts", 21),
                                          ("righthand_kpts", 21))])
        mine = [p for p in people if p["image_id"] == ann["image_id"]]
        labelled = gt[:, 2] > 0
        if not mine or not labelled[:17].any():
            continue
        sim = [keypoint_similarity(p["keypoints"], gt[:, :2], sigmas, ann["area"])
               for p in mine]
        best = int(np.argmax([s[:17][labelled[:17]].mean() for s in sim]))
        person, sim = mine[best], sim[best]
        if sim[:17][labelled[:17]].mean() < 0.5:  # no pose for this person
            continue
        for part, index in PARTS.items():
            use = labelled[index]
            out[part]["raw"].append(person["raw"][index][use])
            out[part]["out"].append(person["scores"][index][use])
            out[part]["cal"].append(person["cal"][index][use])
            out[part]["right"].append(sim[index][use] >= 0.5)
    return {p: {k: np.concatenate(v) if v else np.zeros(0) for k, v in d.items()}
            for p, d in out.items()}


def test_ap(data: Path, people: list[dict], key: str,
            calibration: ScoreCalibration | None = None) -> dict[str, float]:
    """End-to-end AP per part with the people's ``key`` scores (``"raw"``, ``"scores"``),
    optionally mapped by ``calibration``."""
    from accuracy import evaluate

    coco = data / "mmpose" / "coco"
    results = []
    for person in people:
        scores = person[key].copy()
        if calibration is not None:
            for part, index in PARTS.items():
                scores[index] = calibration(part, scores[index])
        results.append({"image_id": person["image_id"], "category_id": 1,
                        "keypoints": np.c_[person["keypoints"], scores].ravel().tolist(),
                        "score": person["score"]})
    figures = evaluate(results, json.loads((coco / "test_coco.json").read_text()),
                       json.loads((coco / "test_coco_wholebody.json").read_text()))
    return {p: figures[f"wb_{p}"] for p in (*PARTS, "wholebody")}


# ----------------------------------------------------------------------------- held-out data

def held_out_body(data: Path, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` of the labelled COCO-17 points of the PoseTrack18 people."""
    from hands import keypoint_similarity

    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.skeletons import convert_poses

    root = data / "mmpose" / "posetrack18"
    spec = json.loads((root / "annotations" / "test_posetrack18_val.json").read_text())
    sigmas = get_layout("coco17").sigmas
    use = np.r_[0, 5:17]  # PoseTrack's nose and limbs are COCO's; its head points are not
    pipeline = Pipeline(mode=mode, run=RunOptions(sp=True))
    scores, right = [], []
    for im in spec["images"]:
        poses = convert_poses(pipeline.predict(cv2.imread(str(root / im["file_name"]))),
                              "coco17")
        for ann in spec["annotations"]:
            if ann["image_id"] != im["id"] or not len(poses):
                continue
            gt = np.array(ann["keypoints"], np.float64).reshape(17, 3)[use]
            labelled = gt[:, 2] > 0
            if not labelled.any():
                continue
            area = 0.53 * ann["bbox"][2] * ann["bbox"][3]
            sim = [keypoint_similarity(k[use], gt[:, :2], sigmas[use], area)
                   for k in poses.keypoints]
            best = int(np.argmax([s[labelled].mean() for s in sim]))
            if sim[best][labelled].mean() < 0.5:
                continue
            scores.append(poses.keypoint_scores[best][use][labelled])
            right.append(sim[best][labelled] >= 0.5)
    return np.concatenate(scores), np.concatenate(right)


def held_out_hands(data: Path, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` of the FreiHAND / OneHand10K points, scaled and jittered, both hand
    models (one curve serves both) with the mode's refinement."""
    from hands import load_hands

    from alphapose.estimators.face_hand import HandLandmarker, hand_rect_from_body
    from alphapose.modes import get_mode

    refine = get_mode(mode).hand_refine
    models = [HandLandmarker(v, num_threads=1, refine=refine) for v in ("lite", "full")]
    hands = [h for h in load_hands(data) if h["source"] != "coco"]
    rng = np.random.default_rng(0)
    limit = tolerance("hand")
    scores, right = [], []
    for hand in tqdm(hands, desc="held-out hands", leave=False):
        for target in HAND_SIZES:
            f = min(1.0, target / hand["size"])
            small = cv2.resize(hand["image"], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            gt, size = (hand["gt"] + 0.5) * f - 0.5, hand["size"] * f
            for jitter in HAND_JITTERS:
                seeds = gt[[0, 5, 17]] + rng.normal(0.0, jitter * size, (3, 2))
                for model in models:
                    try:
                        result = model(small, hand_rect_from_body(*seeds))
                    except ValueError:  # seeds on one point
                        continue
                    err = np.linalg.norm(result.points - gt, axis=1)[hand["visible"]] / size
                    scores.append(result.scores[hand["visible"]])
                    right.append(err < limit)
    return np.concatenate(scores), np.concatenate(right)


def load_faces(data: Path) -> list[dict]:
    """The dlib example faces and the two 300-W faces: image and 68 labelled points."""
    import xml.etree.ElementTree as ET

    faces = []
    folder = data / "dlib" / "faces"
    for image in ET.parse(folder / "training_with_face_landmarks.xml").getroot().iter("image"):
        pixels = cv2.imread(str(folder / image.get("file")))
        for box in image.iter("box"):
            gt = np.zeros((68, 2))
            for part in box.iter("part"):
                gt[int(part.get("name"))] = float(part.get("x")), float(part.get("y"))
            faces.append({"image": pixels, "gt": gt})
    spec = json.loads((data / "mmpose" / "300w" / "test_300w.json").read_text())
    files = {im["id"]: im["file_name"] for im in spec["images"]}
    for ann in spec["annotations"]:
        faces.append({"image": cv2.imread(str(data / "mmpose" / "300w" /
                                              files[ann["image_id"]])),
                      "gt": np.array(ann["keypoints"], np.float64).reshape(68, 3)[:, :2]})
    return faces


def held_out_faces(data: Path, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` of the dlib / 300-W face points, scaled and jittered."""
    from alphapose.estimators.face_hand import FaceLandmarker, face_rect_from_points
    from alphapose.modes import get_mode

    model = FaceLandmarker(num_threads=1, refine=get_mode(mode).refine_face)
    rng = np.random.default_rng(0)
    limit = tolerance("face")
    scores, right = [], []
    for face in tqdm(load_faces(data), desc="held-out faces", leave=False):
        size = float((face["gt"].max(0) - face["gt"].min(0)).max())
        for target in FACE_SIZES:
            f = min(1.0, target / size)
            small = cv2.resize(face["image"], None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
            gt = (face["gt"] + 0.5) * f - 0.5
            seeds = np.stack([gt[42:48].mean(0), gt[36:42].mean(0), gt[30], gt[54], gt[48],
                              gt[16], gt[0]])
            for jitter in FACE_JITTERS:
                noisy = seeds + rng.normal(0.0, jitter * size * f, seeds.shape)
                try:
                    result = model(small, face_rect_from_points(*noisy))
                except ValueError:
                    continue
                err = np.linalg.norm(result.points68 - gt, axis=1) / (size * f)
                scores.append(result.scores)
                right.append(err < limit)
    return np.concatenate(scores), np.concatenate(right)


# ------------------------------------------------------------------------------------- plot

def plot(path: Path, mode: str, curves: dict[str, list[tuple[str, np.ndarray, np.ndarray]]]
         ) -> None:
    """One reliability panel per part: fraction right against mean score per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alphapose.calibration import reliability

    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 4.2))
    for ax, (part, lines) in zip(axes, curves.items()):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":")
        for (label, scores, right), style in zip(lines, ("o--", "s-", "^-", "d-")):
            if scores.size == 0:
                continue
            mean_score, accuracy, count = reliability(scores, right)
            used = count > 0
            ece = expected_calibration_error(scores, right)
            ax.plot(mean_score[used], accuracy[used], style, ms=4,
                    label=f"{label} (ECE {ece:.2f}, n={scores.size})")
        ax.set(title=f"{part}", xlim=(0, 1), ylim=(0, 1.02), xlabel="keypoint score",
               ylabel="fraction right (similarity >= 0.5)")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"keypoint score reliability, mode {mode}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--mode", default="balanced",
                        choices=("lightweight", "balanced", "performance"))
    parser.add_argument("--fit", action="store_true", help="print the fitted curves as Python")
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    if not (args.data / "mmpose" / "posetrack18").is_dir():
        sys.exit(f"bench/calibration.py: {args.data} has no mmpose/posetrack18 (pass --data)")
    held = {"body": held_out_body(args.data, args.mode),
            "face": held_out_faces(args.data, args.mode),
            "hand": held_out_hands(args.data, args.mode)}
    fitted = {}
    for part, (scores, right) in held.items():
        x, y = fit_isotonic(scores, right)
        fitted[part] = (tuple(np.round(x, 4).tolist()), tuple(np.round(y, 4).tolist()))
    calibration = ScoreCalibration(fitted)
    if args.fit:
        print("curves = {")
        for part, (x, y) in fitted.items():
            print(f"    {part!r}: ({x},\n             {y}),")
        print("}")
    people = test_people(args.data, args.mode)
    test = test_points(args.data, people)
    figures: dict[str, float] = {}
    curves: dict[str, list] = {}
    for part, points in test.items():
        raw, out, right = points["raw"], points["out"], points["right"]
        fit = calibration(part, raw)
        lines = [("test raw", raw, right), ("test fitted map", fit, right)]
        if part == "hand":
            lines.append(("test calibrated_hand_scores (map x wrist)", points["cal"], right))
            figures["ece_hand_cal"] = expected_calibration_error(points["cal"], right)
        if part in held:
            h_raw, h_right = held[part]
            lines.insert(0, ("held-out raw", h_raw, h_right))
            figures[f"heldout_ece_{part}_raw"] = expected_calibration_error(h_raw, h_right)
            figures[f"heldout_ece_{part}_fit"] = expected_calibration_error(
                calibration(part, h_raw), h_right)
        figures[f"ece_{part}_raw"] = expected_calibration_error(raw, right)
        figures[f"ece_{part}_fit"] = expected_calibration_error(fit, right)
        figures[f"ece_{part}_out"] = expected_calibration_error(out, right)
        curves[part] = lines
        print(f"{part:5s} test points {raw.size:4d} right {right.mean():.2f}  ECE raw "
              f"{figures[f'ece_{part}_raw']:.3f} fitted map {figures[f'ece_{part}_fit']:.3f} "
              f"output {figures[f'ece_{part}_out']:.3f}"
              + (f"  held-out {held[part][0].size} points, right {held[part][1].mean():.2f}, "
                 f"ECE raw {figures[f'heldout_ece_{part}_raw']:.3f} fitted map "
                 f"{figures[f'heldout_ece_{part}_fit']:.3f}" if part in held else
                 "  (no held-out labels: no map)"))
    path = args.plot or ROOT / "out" / "calibration" / f"reliability_{args.mode}.png"
    plot(path, args.mode, curves)
    print(f"reliability plot: {path}")
    # the pipeline with calibrated hand scores, pose NMS included (it ranks by all scores)
    from hands import run_mode_recording

    _, calibrated_people = run_mode_recording(args.data, args.mode, calibrated_hand_scores=True)
    aps = {"raw": test_ap(args.data, people, "raw"),
           "fit": test_ap(args.data, people, "raw", calibration),
           "out": test_ap(args.data, people, "scores"),
           "calhands": test_ap(args.data, calibrated_people, "scores")}
    for name, ap in aps.items():
        print(f"AP with {name:8s} scores: " + ", ".join(f"{p} {v:.3f}" for p, v in ap.items()))
        figures.update({f"ap_{p}_{name}": v for p, v in ap.items()})
    print(f"mode={args.mode} " + " ".join(f"{k}={v:.3f}" for k, v in figures.items()))

if __name__ == "__main__":
    main()
