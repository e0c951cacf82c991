"""Recall, precision and speed of the person detector modes on the labelled images we have.

Data (``../shared/data`` beside the repository; absent sets are skipped):

* ``coco``: 4 COCO val2017 images (<= 640 px), 14 annotated people.
* ``posetrack``: 3 PoseTrack18 frames (1920 x 1080), 14 annotated people; unannotated people
  are covered by the frames' ignore polygons.
* ``mot17``: frame 1 of MOT17-02 (1920 x 1080); pedestrians at least half visible are the
  ground truth, every other labelled box (occluded pedestrians, static people, riders, ...)
  is an ignore region.

Default: people found end to end, per ``alphapose run --detector`` mode. Each image runs
through the pipeline with the embedded estimator (body only: hands and face do not change who
is found), built as ``alphapose run`` builds it:

* ``blaze``: the embedded BlazePose detector (whole image and tiles);
* ``nanodet``: NanoDet-m boxes, every crop placed from its box;
* ``fused`` (the default): NanoDet-m boxes, placed by BlazePose where it finds the person.

A ground-truth person is found when a kept pose is paired with their box one to one
(:func:`alphapose.evaluate.crowd.boxes_found`: most of its confident body points inside the
box); a kept pose paired with nobody is a false positive unless its confident points' centre
lies in an ignore region (duplicates count as false positives). ``--dark`` also runs darkened
copies of every image (gamma 2.5, and brightness x 0.3). Last line (default mode, all sets):
``recall=... precision=... ms_per_image=...`` (and ``dark_recall=...``, the worse of the two
darkened copies, with ``--dark``).

``--boxes``: the detectors' own output instead, as boxes. BlazePose's output is a person crop
built from its keypoints, not a tight box, so a detection matches a ground-truth box when (1)
its shoulder centre (keypoint 2) lies inside the box, (2) the box centre lies inside the
detection's body circle square (hip centre +- radius, radius = |kp1 - kp0|) and (3) the body
circle's diameter is 0.5-3x the box's long side; NanoDet's boxes match at IoU >= 0.5.
Detections are matched greedily by score, one to one.

Usage::

    python bench/detector.py --dark                 # the modes end to end (default)
    python bench/detector.py --modes fused blaze
    python bench/detector.py --boxes --tiles none auto        # BlazePose boxes
    python bench/detector.py --boxes --detector nanodet --score-thresholds 0.3 0.4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from alphapose.detection.blaze import BlazeDetectorConfig, BlazePersonDetector
from alphapose.detection.nms import box_iou
from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig
from alphapose.pipeline import Pipeline, RunOptions
from alphapose.structures import Detections, Poses

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Sample:
    """One labelled image: ground-truth person boxes and regions not to count against us."""

    name: str
    image: np.ndarray
    gt_xyxy: np.ndarray                                  # (G, 4)
    ignore_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    ignore_polygons: list[np.ndarray] = field(default_factory=list)  # each (P, 2)


def _xywh_to_xyxy(boxes: list[list[float]]) -> np.ndarray:
    array = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([array[:, :2], array[:, :2] + array[:, 2:]], axis=1)


def load_coco(root: Path = DATA / "mmpose" / "coco") -> list[Sample]:
    if not (root / "test_coco.json").is_file():
        return []
    data = json.loads((root / "test_coco.json").read_text())
    samples = []
    for image in data["images"]:
        people = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        gt = _xywh_to_xyxy([a["bbox"] for a in people if not a.get("iscrowd", 0)])
        crowd = _xywh_to_xyxy([a["bbox"] for a in people if a.get("iscrowd", 0)])
        samples.append(Sample(image["file_name"], cv2.imread(str(root / image["file_name"])),
                              gt, crowd))
    return samples


def load_posetrack(root: Path = DATA / "mmpose" / "posetrack18") -> list[Sample]:
    path = root / "annotations" / "test_posetrack18_val.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    samples = []
    for image in data["images"]:
        if not image.get("is_labeled"):
            continue
        people = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        polygons = [np.stack([np.asarray(xs, np.float64), np.asarray(ys, np.float64)], axis=1)
                    for xs, ys in zip(image.get("ignore_regions_x", []),
                                      image.get("ignore_regions_y", [])) if len(xs) >= 3]
        samples.append(Sample(image["file_name"], cv2.imread(str(root / image["file_name"])),
                              _xywh_to_xyxy([a["bbox"] for a in people]),
                              ignore_polygons=polygons))
    return samples


def load_mot17(root: Path = DATA / "boxmot" / "MOT17-mini" / "train" / "MOT17-02-FRCNN",
               frames: tuple[int, ...] = (1,), min_visibility: float = 0.5) -> list[Sample]:
    if not (root / "gt" / "gt.txt").is_file():
        return []
    rows = np.loadtxt(root / "gt" / "gt.txt", delimiter=",", ndmin=2)
    samples = []
    for frame in frames:
        mine = rows[rows[:, 0] == frame]
        boxes = _xywh_to_xyxy(mine[:, 2:6].tolist())
        wanted = (mine[:, 6] == 1) & (mine[:, 7] == 1) & (mine[:, 8] >= min_visibility)
        samples.append(Sample(f"MOT17-02/{frame:06d}.jpg",
                              cv2.imread(str(root / "img1" / f"{frame:06d}.jpg")),
                              boxes[wanted], boxes[~wanted]))
    return samples


LOADERS = {"coco": load_coco, "posetrack": load_posetrack, "mot17": load_mot17}


def _inside(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(N, M)`` whether point n lies inside box m."""
    x, y = points[:, None, 0], points[:, None, 1]
    return (x >= boxes[None, :, 0]) & (x <= boxes[None, :, 2]) & \
           (y >= boxes[None, :, 1]) & (y <= boxes[None, :, 3])


def match(detections: Detections, sample: Sample) -> dict[str, int]:
    """Greedy one-to-one matching (see the module docstring); returns counts."""
    gt = sample.gt_xyxy
    kps = detections.keypoints if detections.keypoints is not None else np.zeros((0, 4, 2))
    radius = np.linalg.norm(kps[:, 1] - kps[:, 0], axis=1)
    circle = np.concatenate([kps[:, 0] - radius[:, None], kps[:, 0] + radius[:, None]], axis=1)
    gt_centre = (gt[:, :2] + gt[:, 2:]) / 2
    long_side = np.max(gt[:, 2:] - gt[:, :2], axis=1) if len(gt) else np.zeros(0)
    ok = (_inside(kps[:, 2], gt)
          & _inside(gt_centre, circle).T
          & (2 * radius[:, None] >= 0.5 * long_side[None])
          & (2 * radius[:, None] <= 3.0 * long_side[None]))
    taken = np.zeros(len(gt), bool)
    counts = {"tp": 0, "fp": 0, "dup": 0, "ignored": 0, "gt": len(gt)}
    for i in np.argsort(-detections.scores, kind="stable"):
        free = np.flatnonzero(ok[i] & ~taken)
        if free.size:
            distance = np.linalg.norm(gt_centre[free] - kps[i, 0], axis=1)
            taken[free[np.argmin(distance)]] = True
            counts["tp"] += 1
            continue
        if _in_ignore(kps[i, 2], sample):  # its shoulder centre
            counts["ignored"] += 1
        else:
            counts["fp"] += 1
            counts["dup"] += int(ok[i].any())
    return counts


def _in_ignore(point: np.ndarray, sample: Sample) -> bool:
    return bool(_inside(point[None], sample.ignore_xyxy).any()) or any(
        cv2.pointPolygonTest(p.astype(np.float32), (float(point[0]), float(point[1])),
                             False) >= 0 for p in sample.ignore_polygons)


def match_boxes(detections: Detections, sample: Sample, min_iou: float = 0.5) -> dict[str, int]:
    """Greedy one-to-one matching at box IoU >= ``min_iou`` (tight-box detectors)."""
    gt = sample.gt_xyxy
    iou = box_iou(detections.xyxy, gt) if len(gt) else np.zeros((len(detections), 0))
    taken = np.zeros(len(gt), bool)
    counts = {"tp": 0, "fp": 0, "dup": 0, "ignored": 0, "gt": len(gt)}
    for i in np.argsort(-detections.scores, kind="stable"):
        free = np.where(taken, -1.0, iou[i])
        if free.size and free.max() >= min_iou:
            taken[int(np.argmax(free))] = True
            counts["tp"] += 1
        elif _in_ignore((detections.xyxy[i, :2] + detections.xyxy[i, 2:]) / 2, sample):
            counts["ignored"] += 1
        else:
            counts["fp"] += 1
            counts["dup"] += int((iou[i] >= min_iou).any())
    return counts


def evaluate(detector, samples: list[Sample], matcher=match) -> dict[str, float]:
    detector(samples[0].image)  # warm-up
    totals = {"tp": 0, "fp": 0, "dup": 0, "ignored": 0, "gt": 0, "dets": 0}
    seconds = 0.0
    for sample in samples:
        start = time.perf_counter()
        detections = detector(sample.image)
        seconds += time.perf_counter() - start
        for key, value in matcher(detections, sample).items():
            totals[key] += value
        totals["dets"] += len(detections)
    totals["ms"] = 1000 * seconds
    totals["images"] = len(samples)
    return totals


def _line(totals: dict[str, float]) -> str:
    recall = totals["tp"] / max(totals["gt"], 1)
    precision = totals["tp"] / max(totals["tp"] + totals["fp"], 1)
    return (f"recall={recall:.3f} precision={precision:.3f} "
            f"ms_per_image={totals['ms'] / max(totals['images'], 1):.1f}")


def main_boxes(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="detector output alone, as boxes (--boxes)")
    parser.add_argument("--tiles", nargs="+", default=["none", "auto"],
                        choices=["none", "auto", "always"])
    parser.add_argument("--datasets", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    parser.add_argument("--tile-scales", nargs="+", type=float, default=None,
                        help="tile sides as fractions of min(H, W) (default: the config's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--detector", default="blaze", choices=["blaze", "nanodet"])
    parser.add_argument("--score-thresholds", nargs="+", type=float, default=[0.3],
                        help="nanodet: person score thresholds to measure")
    args = parser.parse_args(argv)

    sets = {name: LOADERS[name]() for name in args.datasets}
    sets = {name: samples for name, samples in sets.items() if samples}
    if not sets:
        raise SystemExit(f"no labelled data found under {DATA}")
    summary: dict[str, float] = {}
    if args.detector == "nanodet":
        from alphapose.detection.nanodet import NanoDetConfig, NanoDetDetector

        for threshold in args.score_thresholds:
            nanodet = NanoDetDetector(NanoDetConfig(score_threshold=threshold),
                                      num_threads=args.threads)
            summary = {}
            for name, samples in sets.items():
                totals = evaluate(nanodet, samples, match_boxes)
                print(f"nanodet score>={threshold:<5} {name:<9} images={totals['images']} "
                      f"gt={totals['gt']} tp={totals['tp']} fp={totals['fp']} "
                      f"(dup={totals['dup']}) ignored={totals['ignored']} {_line(totals)}")
                for key, value in totals.items():
                    summary[key] = summary.get(key, 0) + value
        args.tiles = []
    for tiles in args.tiles:
        config = BlazeDetectorConfig(tiles=tiles)
        if args.tile_scales:
            config = replace(config, tile_scales=tuple(args.tile_scales))
        detector = BlazePersonDetector(config, num_threads=args.threads)
        summary = {}
        for name, samples in sets.items():
            totals = evaluate(detector, samples)
            print(f"tiles={tiles:<6} {name:<9} images={totals['images']} gt={totals['gt']} "
                  f"tp={totals['tp']} fp={totals['fp']} (dup={totals['dup']}) "
                  f"ignored={totals['ignored']} {_line(totals)}")
            for key, value in totals.items():
                summary[key] = summary.get(key, 0) + value
    print(_line(summary))


MODES = ("blaze", "nanodet", "fused")
DEFAULT_MODE = "fused"


def build_detector(mode: str):
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.detection.fused import default_detector
    from alphapose.detection.nanodet import NanoDetDetector

    if mode == "blaze":
        return BlazePersonDetector()
    if mode == "nanodet":
        return NanoDetDetector()
    return default_detector(fallback=False)[0]


def darken(image: np.ndarray, kind: str) -> np.ndarray:
    if kind == "gamma":
        table = (255 * (np.arange(256) / 255) ** 2.5).round().astype(np.uint8)
        return cv2.LUT(image, table)
    return (image.astype(np.float32) * 0.3).round().astype(np.uint8)


def count_people(poses: Poses, sample: Sample) -> dict[str, int]:
    """tp / fp / gt of one image: poses paired with the ground truth by
    :func:`~alphapose.evaluate.crowd.pair_boxes`; an unpaired pose whose confident points'
    centre lies in an ignore region is not counted."""
    from alphapose.evaluate.crowd import pair_boxes

    pairs = pair_boxes(sample.gt_xyxy, poses)
    matched = set(pairs[:, 1].tolist())
    points = poses.keypoints[:, :17]
    confident = poses.keypoint_scores[:, :17] >= 0.5
    fp = 0
    for p in range(len(poses)):
        if p in matched:
            continue
        centre = points[p][confident[p]].mean(0) if confident[p].any() else points[p].mean(0)
        fp += 0 if _in_ignore(centre, sample) else 1
    return {"tp": len(pairs), "fp": fp, "gt": len(sample.gt_xyxy)}


def evaluate_people(mode: str, sets: dict[str, list[Sample]], dark: str | None) -> dict[str, dict]:
    config = BlazeWholeBodyConfig(hands=False, face=False)
    # as alphapose run builds it: a detector's plain boxes get the stricter box-path checks
    estimator = BlazeWholeBody(config if mode == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(build_detector(mode), estimator, run=RunOptions(sp=True))
    out = {}
    for name, samples in sets.items():
        totals = {"tp": 0, "fp": 0, "gt": 0, "seconds": 0.0, "images": len(samples)}
        for sample in samples:
            image = sample.image if dark is None else darken(sample.image, dark)
            start = time.perf_counter()
            poses = pipeline.predict(image)
            totals["seconds"] += time.perf_counter() - start
            for key, value in count_people(poses, sample).items():
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


def main_people(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--dark", action="store_true", help="also darkened copies")
    args = parser.parse_args(argv)
    sets = {name: loader() for name, loader in LOADERS.items()}
    sets = {name: samples for name, samples in sets.items() if samples}
    if not sets:
        raise SystemExit("bench/detector.py: no labelled data found beside the repository")
    results: dict[tuple[str, str], dict[str, float]] = {}
    variants = [None] + (["gamma", "dim"] if args.dark else [])
    print(f"{'mode':8s}{'images':>8s}{'set':>11s}{'recall':>8s}{'precision':>10s}"
          f"{'tp/gt':>8s}{'fp':>4s}{'ms':>8s}")
    for mode in args.modes:
        for dark in variants:
            per_set = evaluate_people(mode, sets, dark)
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


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--boxes" in argv:
        argv.remove("--boxes")
        main_boxes(argv)
    else:
        main_people(argv)


if __name__ == "__main__":
    main()
