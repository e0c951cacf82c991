"""Body accuracy person by person: who each mode gets right, on the labelled COCO and PoseTrack18
frames of ../shared/data.

``bench/accuracy.py`` gives one AP per mode; with 26 labelled people an AP moves in steps of one
person, so a change is judged by the people it moves. For each ``--mode`` this runs the embedded
default in-process (``Pipeline(mode=M)``, as ``alphapose run --mode M`` builds it) on

* the 4 COCO val2017 images of ``mmpose/coco`` (12 people with keypoints), with the
  ground-truth boxes as detections (every box of ``test_coco.json``, score 1, as
  ``--detfile`` gives them) and end to end;
* the 3 labelled PoseTrack18 frames of ``mmpose/posetrack18`` (14 people, still images: no
  tracking), end to end. PoseTrack labels ``head_bottom`` / ``head_top`` where COCO has eyes,
  and no ears, so those 4 points are left out (their sigmas are COCO's eyes' and ears'); poses
  whose confident points' centre lies in a frame's ignore regions (its mask) are left out, as
  PoseTrack's evaluation does; the OKS area is the annotated box's.

For every ground-truth person it prints the best OKS of any pose of the image (COCO-17 sigmas)
and that pose's rank by score among all poses of the set (AP follows the score order); a
``*`` marks a pose that is also the best for another person. Then COCO-17 body AP per set
(pycocotools).

``--set FIELD=VALUE`` overrides a field of the mode's estimator settings
(:class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig`; ``a,b`` is a tuple), e.g.
``--set body_models=full,heavy`` for BlazePose-heavy on the refining pass.

Last line, per mode: ``mode=M coco_body_ap_gt=... coco_body_ap_e2e=... posetrack_body_ap=...
posetrack_found=K/N`` (K: PoseTrack people with a pose at OKS >= 0.5).

Usage: ``.venv/bin/python bench/accuracy_people.py [--mode balanced --mode performance]
[--set FIELD=VALUE ...] [--data ../shared/data]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from alphapose.evaluate import keypoint_ap
from alphapose.skeletons import get_layout
from alphapose.structures import Detections, Poses

ROOT = Path(__file__).resolve().parents[1]
SIGMAS = np.asarray(get_layout("coco17").sigmas, np.float64)
#: PoseTrack18 points without a COCO counterpart: head_bottom, head_top, (unlabelled) ears
POSETRACK_UNLIKE_COCO = (1, 2, 3, 4)


@dataclass
class Frame:
    """One labelled image: its file, ground-truth people, ignore mask, given boxes."""

    image_id: int
    path: Path
    people: list[dict]  # annotations with keypoints (COCO-17 order, flat x, y, v)
    mask: Path | None = None  # PoseTrack ignore regions (white)
    boxes: np.ndarray | None = None  # (N, 4) xyxy ground-truth boxes


def coco_frames(data: Path) -> tuple[dict, list[Frame]]:
    root = data / "mmpose" / "coco"
    gt = json.loads((root / "test_coco.json").read_text())
    frames = []
    for image in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == image["id"]]
        xywh = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
        frames.append(Frame(image["id"], root / image["file_name"],
                            [a for a in anns if a.get("num_keypoints", 0) > 0],
                            boxes=np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]]))
    return gt, frames


def posetrack_frames(data: Path) -> tuple[dict, list[Frame]]:
    root = data / "mmpose" / "posetrack18"
    gt = copy.deepcopy(json.loads(
        (root / "annotations" / "test_posetrack18_val.json").read_text()))
    for ann in gt["annotations"]:
        points = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
        points[list(POSETRACK_UNLIKE_COCO)] = 0
        ann.update(keypoints=points.reshape(-1).tolist(), num_keypoints=int((points[:, 2] > 0).sum()),
                   area=float(ann["bbox"][2] * ann["bbox"][3]), iscrowd=0)
    gt["annotations"] = [a for a in gt["annotations"] if a["num_keypoints"] > 0]
    frames = [Frame(image["id"], root / image["file_name"],
                    [a for a in gt["annotations"] if a["image_id"] == image["id"]],
                    mask=root / image["mask_file"]) for image in gt["images"]]
    return gt, frames


def oks_one(truth: list[float], points: np.ndarray, area: float) -> float:
    """COCO OKS of ``points`` ``(17, 2)`` against one flat ground-truth keypoint list."""
    labelled = np.asarray(truth, np.float64).reshape(17, 3)
    seen = labelled[:, 2] > 0
    if not seen.any():
        return 0.0
    d2 = ((points - labelled[:, :2]) ** 2).sum(1)
    return float(np.exp(-d2 / (2 * area * (2 * SIGMAS) ** 2 + np.spacing(1)))[seen].mean())


def run(pipeline_for: Any, frames: list[Frame]) -> list[dict]:
    """COCO-17 results over ``frames`` of the pipeline ``pipeline_for(frame)`` gives."""
    results = []
    for frame in frames:
        image = cv2.imread(str(frame.path))
        poses: Poses = pipeline_for(frame).predict(image)
        mask = None if frame.mask is None else cv2.imread(str(frame.mask), cv2.IMREAD_GRAYSCALE)
        for k in range(len(poses)):
            points, scores = poses.keypoints[k], poses.keypoint_scores[k]
            if mask is not None:  # in an ignore region: nobody there is labelled
                confident = points[scores > 0.3] if (scores > 0.3).any() else points
                x, y = np.clip(np.round(confident.mean(0)).astype(int), 0,
                               np.array(mask.shape[::-1]) - 1)
                if mask[y, x] >= 128:
                    continue
            results.append({"image_id": frame.image_id, "category_id": 1,
                            "keypoints": np.c_[points, scores].reshape(-1).tolist(),
                            "score": float(poses.scores[k])})
    return results


def per_person(frames: list[Frame], results: list[dict]) -> list[tuple[float, int | None, bool]]:
    """For each ground-truth person: ``(best OKS, that pose's rank by score, shared)``."""
    order = sorted(range(len(results)), key=lambda n: -results[n]["score"])
    rank = {n: r for r, n in enumerate(order)}
    best = []
    for frame in frames:
        for person in frame.people:
            candidates = [(oks_one(person["keypoints"],
                                   np.asarray(r["keypoints"]).reshape(17, 3)[:, :2],
                                   person["area"]), n)
                          for n, r in enumerate(results) if r["image_id"] == frame.image_id]
            best.append(max(candidates, default=(0.0, None)))
    owners = [n for _, n in best if n is not None]
    return [(value, None if n is None else rank[n], owners.count(n) > 1) for value, n in best]


def parse_overrides(items: list[str]) -> dict[str, Any]:
    from alphapose.estimators.blaze import BlazeWholeBodyConfig

    names = {f.name for f in fields(BlazeWholeBodyConfig)}
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in names or not value:
            sys.exit(f"bench/accuracy_people.py: --set {item!r}: expected FIELD=VALUE with FIELD "
                     f"one of {sorted(names)}")
        out[name] = tuple(value.split(",")) if "," in value else yaml.safe_load(value)
    return out


def pipelines(mode: str, overrides: dict[str, Any]):
    """``(end to end, given boxes)`` pipeline factories of ``mode`` (a frame -> a pipeline)."""
    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import build_detector, estimator_config
    from alphapose.pipeline import Pipeline

    detector, name = build_detector(mode)
    config = replace(estimator_config(mode), **overrides)
    boxes = BlazeWholeBody(config.for_detector_boxes() if name != "blaze" else config)
    end_to_end = Pipeline(detector, boxes, mode=mode, layout="coco17")
    # given boxes are the user's people (as with --detfile): no detector-box thresholds
    estimator = BlazeWholeBody(config) if name != "blaze" else boxes
    current: dict[str, np.ndarray] = {}

    def given_boxes(image: np.ndarray) -> Detections:
        return Detections(current["boxes"], np.ones(len(current["boxes"]), np.float32))

    # as `alphapose run --detfile` does: each given person placed by BlazePose where it finds
    # them, else from the box
    from alphapose.detection.blaze import blaze_person_detector
    from alphapose.detection.fused import FusedDetector

    given = Pipeline(FusedDetector(blaze_person_detector(), given_boxes, box_scores=True),
                     estimator, mode=mode, layout="coco17")

    def with_boxes(frame: Frame) -> Any:
        current["boxes"] = frame.boxes
        return given

    return (lambda frame: end_to_end), with_boxes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--mode", action="append",
                        choices=("lightweight", "balanced", "performance"))
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args()
    if not (args.data / "mmpose" / "coco" / "test_coco.json").is_file():
        sys.exit(f"bench/accuracy_people.py: {args.data}/mmpose/coco not found (--data PATH)")
    overrides = parse_overrides(args.set)
    coco_gt, coco = coco_frames(args.data)
    track_gt, track = posetrack_frames(args.data)
    lines = []
    for mode in args.mode or ["balanced"]:
        end_to_end, given = pipelines(mode, overrides)
        columns = {"coco gt boxes": (coco_gt, coco, run(given, coco)),
                   "coco e2e": (coco_gt, coco, run(end_to_end, coco)),
                   "posetrack e2e": (track_gt, track, run(end_to_end, track))}
        print(f"\nmode={mode}" + "".join(f" {k}={v}" for k, v in overrides.items()))
        ap = {}
        for title, (gt, frames, results) in columns.items():
            ap[title] = keypoint_ap(gt, results, SIGMAS)["AP"]
            rows = per_person(frames, results)
            print(f"{title}: AP {ap[title]:.3f}, {len(results)} poses; per person "
                  f"OKS (rank by score, * = also another's best pose)")
            people = [(f.path.parent.name[:8] + "/" + f.path.stem[-6:], p["id"])
                      for f in frames for p in f.people]
            for (where, who), (value, rank, shared) in zip(people, rows):
                print(f"  {where:16s} {who:>14d}  {value:.3f}  "
                      f"({'-' if rank is None else rank}){'*' if shared else ''}")
        found = sum(value >= 0.5 for value, _, _ in per_person(track, columns["posetrack e2e"][2]))
        lines.append(f"mode={mode} coco_body_ap_gt={ap['coco gt boxes']:.3f} "
                     f"coco_body_ap_e2e={ap['coco e2e']:.3f} "
                     f"posetrack_body_ap={ap['posetrack e2e']:.3f} "
                     f"posetrack_found={found}/{sum(len(f.people) for f in track)}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
