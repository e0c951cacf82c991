"""People found end to end, per detector mode: detector -> body landmarks -> pose NMS.

Detector recall alone (``bench/detector.py``) counts boxes; what users see is the people whose
poses come out. Here each labelled image of ``bench/detector.py``'s sets (COCO, PoseTrack18,
MOT17-02) runs through the pipeline with the embedded estimator (body only: hands and face do
not change who is found) for each ``--detector`` mode:

* ``blaze``: the embedded BlazePose detector (whole image and tiles);
* ``nanodet``: NanoDet-m boxes, every crop placed from its box;
* ``fused``: BlazePose detections plus the NanoDet boxes none of them accounts for.

A ground-truth person is found when a kept pose is paired with their box one to one
(:func:`alphapose.evaluate.crowd.boxes_found`: most of its confident body points inside the
box); a kept pose paired with nobody is a false positive unless its confident points' centre
lies in an ignore region. ``--dark`` also runs darkened copies of every image (gamma 2.5, and
brightness x 0.3).

Last line (default mode, all sets, original images):
``recall=... precision=... ms_per_image=... dark_recall=...``.

Usage: ``.venv/bin/python bench/people.py [--modes blaze fused] [--dark]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector import LOADERS, Sample  # noqa: E402

from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig  # noqa: E402
from alphapose.pipeline import Pipeline  # noqa: E402
from alphapose.structures import Poses  # noqa: E402

MODES = ("blaze", "nanodet", "fused")
DEFAULT_MODE = "fused"


def build_detector(mode: str):
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.detection.fused import FusedDetector
    from alphapose.detection.nanodet import NanoDetDetector

    if mode == "blaze":
        return BlazePersonDetector()
    if mode == "nanodet":
        return NanoDetDetector()
    return FusedDetector(BlazePersonDetector(), NanoDetDetector())


def darken(image: np.ndarray, kind: str) -> np.ndarray:
    if kind == "gamma":
        table = (255 * (np.arange(256) / 255) ** 2.5).round().astype(np.uint8)
        return cv2.LUT(image, table)
    return (image.astype(np.float32) * 0.3).round().astype(np.uint8)


def count(poses: Poses, sample: Sample) -> dict[str, int]:
    """tp / fp / gt of one image (pairing as :func:`boxes_found`, plus ignore regions)."""
    gt = sample.gt_xyxy
    points = poses.keypoints[:, :17].astype(np.float64)
    confident = poses.keypoint_scores[:, :17] >= 0.5
    agreement = np.zeros((len(gt), len(poses)))
    for g, (x1, y1, x2, y2) in enumerate(gt):
        px, py = (x2 - x1) * 0.2, (y2 - y1) * 0.2
        inside = ((points[..., 0] >= x1 - px) & (points[..., 0] <= x2 + px)
                  & (points[..., 1] >= y1 - py) & (points[..., 1] <= y2 + py))
        agreement[g] = (inside & confident).sum(1) / np.maximum(confident.sum(1), 1)
    rows, cols = linear_sum_assignment(-agreement) if agreement.size else ([], [])
    good = [(r, c) for r, c in zip(rows, cols) if agreement[r, c] >= 0.5]
    matched = {c for _, c in good}
    fp = 0
    for p in range(len(poses)):
        if p in matched:
            continue
        centre = (points[p][confident[p]].mean(0) if confident[p].any()
                  else points[p].mean(0))
        x, y = float(centre[0]), float(centre[1])
        ignored = any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in sample.ignore_xyxy) or \
            any(cv2.pointPolygonTest(poly.astype(np.float32), (x, y), False) >= 0
                for poly in sample.ignore_polygons)
        fp += 0 if ignored else 1
    return {"tp": len(good), "fp": fp, "gt": len(gt)}


def evaluate(mode: str, sets: dict[str, list[Sample]], dark: str | None) -> dict[str, dict]:
    config = BlazeWholeBodyConfig(hands=False, face=False)
    # as alphapose run builds it: a detector's plain boxes get the stricter box-path checks
    estimator = BlazeWholeBody(config if mode == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(build_detector(mode), estimator, sp=True)
    out = {}
    for name, samples in sets.items():
        totals = {"tp": 0, "fp": 0, "gt": 0, "seconds": 0.0, "images": len(samples)}
        for sample in samples:
            image = sample.image if dark is None else darken(sample.image, dark)
            start = time.perf_counter()
            poses = pipeline.predict(image)
            totals["seconds"] += time.perf_counter() - start
            for key, value in count(poses, sample).items():
                totals[key] += value
        out[name] = totals
    return out


def summary(per_set: dict[str, dict]) -> dict[str, float]:
    tp = sum(t["tp"] for t in per_set.values())
    fp = sum(t["fp"] for t in per_set.values())
    gt = sum(t["gt"] for t in per_set.values())
    images = sum(t["images"] for t in per_set.values())
    seconds = sum(t["seconds"] for t in per_set.values())
    return {"recall": tp / max(gt, 1), "precision": tp / max(tp + fp, 1),
            "ms": 1000 * seconds / max(images, 1), "tp": tp, "fp": fp, "gt": gt}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--dark", action="store_true", help="also darkened copies")
    args = parser.parse_args(argv)
    sets = {name: loader() for name, loader in LOADERS.items()}
    sets = {name: samples for name, samples in sets.items() if samples}
    if not sets:
        raise SystemExit("bench/people.py: no labelled data found beside the repository")
    results: dict[tuple[str, str], dict[str, float]] = {}
    variants = [None] + (["gamma", "dim"] if args.dark else [])
    print(f"{'mode':8s}{'images':>8s}{'set':>11s}{'recall':>8s}{'precision':>10s}"
          f"{'tp/gt':>8s}{'fp':>4s}{'ms':>8s}")
    for mode in args.modes:
        for dark in variants:
            per_set = evaluate(mode, sets, dark)
            for name, t in per_set.items():
                s = summary({name: t})
                print(f"{mode:8s}{dark or 'original':>8s}{name:>11s}{s['recall']:8.3f}"
                      f"{s['precision']:10.3f}{s['tp']:>5d}/{s['gt']:<3d}{s['fp']:3d}"
                      f"{s['ms']:8.0f}")
            results[(mode, dark or "original")] = summary(per_set)
            s = results[(mode, dark or "original")]
            print(f"{mode:8s}{dark or 'original':>8s}{'all':>11s}{s['recall']:8.3f}"
                  f"{s['precision']:10.3f}{s['tp']:>5d}/{s['gt']:<3d}{s['fp']:3d}{s['ms']:8.0f}")
    mode = DEFAULT_MODE if DEFAULT_MODE in args.modes else args.modes[0]
    s = results[(mode, "original")]
    line = (f"recall={s['recall']:.3f} precision={s['precision']:.3f} "
            f"ms_per_image={s['ms']:.1f}")
    if args.dark:
        dark = min(results[(mode, d)]["recall"] for d in ("gamma", "dim"))
        line += f" dark_recall={dark:.3f}"
    print(line)


if __name__ == "__main__":
    main()
