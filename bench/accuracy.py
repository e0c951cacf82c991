"""Accuracy of the embedded default on the COCO images of ../shared/data/mmpose/coco.

Runs the ``alphapose`` command twice on the 4 annotated COCO images (14 people):
with the ground-truth boxes as detections (the estimator alone) and end to end (detector
included), then evaluates the results with pycocotools:

* COCO-17 body AP with the standard sigmas against ``test_coco.json``;
* AP per part (body, foot, face, hand, whole body) with the COCO-WholeBody sigmas against
  ``test_coco_wholebody.json``.

Then the crowd check: the 4 frames of MOT17-02 (a crowded street), each pedestrian at least half
visible given as a box, through the default estimator and pose NMS, with and without hands and
face; a pedestrian counts as kept when a pose is paired with their box
(:func:`alphapose.evaluate.crowd.boxes_found`).

Last line: ``body_ap_gt=... body_ap_e2e=... foot_ap=... face_ap=... hand_ap=... wholebody_ap=...
crowd_kept=K/N crowd_kept_body_only=K/N`` (foot / face / hand / whole body: end to end).

``--mode M`` evaluates that preset (``alphapose run --mode M``; the crowd check uses its
estimator settings); the last line then starts with ``mode=M``.

Usage: ``.venv/bin/python bench/accuracy.py [--data ../shared/data] [--mode M] [--keep OUT]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphapose.evaluate import keypoint_ap, wholebody_ap
from alphapose.skeletons import get_layout

ROOT = Path(__file__).resolve().parents[1]


def run_cli(images: Path, outdir: Path, extra: list[str]) -> tuple[list[dict], float]:
    cmd = [sys.executable, "-m", "alphapose", "run", str(images), "-o", str(outdir),
           "--format", "coco", "--layout", "coco_wholebody133", "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return json.loads((outdir / "coco-results.json").read_text()), time.perf_counter() - start


def body_only(results: list[dict]) -> list[dict]:
    return [dict(r, keypoints=r["keypoints"][:17 * 3]) for r in results]


def evaluate(results: list[dict], coco_gt: dict, wholebody_gt: dict) -> dict[str, float]:
    figures = {"body17": keypoint_ap(coco_gt, body_only(results),
                                     get_layout("coco17").sigmas)["AP"]}
    parts = wholebody_ap(wholebody_gt, results, get_layout("coco_wholebody133").sigmas)
    figures.update({f"wb_{k}": v for k, v in parts.items()})
    return figures


MOT17_02 = Path("boxmot") / "MOT17-mini" / "train" / "MOT17-02-FRCNN"


def crowd_kept(data: Path, parts: bool, mode: str = "balanced") -> tuple[int, int]:
    """``(kept, annotated)`` pedestrians of the MOT17-02 frames, given as boxes."""
    import cv2
    import numpy as np

    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.evaluate.crowd import boxes_found
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.structures import Detections

    gt = np.loadtxt(data / MOT17_02 / "gt" / "gt.txt", delimiter=",")
    boxes: dict[str, np.ndarray] = {}

    def given(image: np.ndarray) -> Detections:
        return Detections(boxes["now"], np.ones(len(boxes["now"]), np.float32))

    from alphapose.modes import estimator_config

    estimator = BlazeWholeBody(estimator_config(mode, hands=parts, face=parts))
    pipeline = Pipeline(given, estimator, run=RunOptions(sp=True))
    kept = total = 0
    for frame in sorted(set(gt[:, 0].astype(int))):
        # frame, id, left, top, width, height, considered, class (1 pedestrian), visibility
        rows = gt[(gt[:, 0] == frame) & (gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
        boxes["now"] = np.c_[rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]].astype(np.float32)
        image = cv2.imread(str(data / MOT17_02 / "img1" / f"{frame:06d}.jpg"))
        kept += boxes_found(boxes["now"], pipeline.predict(image))
        total += len(rows)
    return kept, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    parser.add_argument("--mode", default="balanced",
                        choices=("lightweight", "balanced", "performance"))
    args = parser.parse_args()
    coco = args.data / "mmpose" / "coco"
    if not (coco / "test_coco.json").is_file():
        sys.exit(f"bench/accuracy.py: {coco} not found (pass --data PATH/TO/shared/data)")
    coco_gt = json.loads((coco / "test_coco.json").read_text())
    wholebody_gt = json.loads((coco / "test_coco_wholebody.json").read_text())
    work = args.keep or Path(tempfile.mkdtemp(prefix="alphapose-accuracy-"))
    people = len(coco_gt["annotations"])
    print(f"{len(coco_gt['images'])} images, {people} annotated people; outputs in {work}")

    gt_results, gt_time = run_cli(coco, work / "gt_boxes",
                                  ["--mode", args.mode, "--detfile",
                                   str(coco / "test_coco.json")])
    gt = evaluate(gt_results, coco_gt, wholebody_gt)
    e2e_results, e2e_time = run_cli(coco, work / "end_to_end", ["--mode", args.mode])
    e2e = evaluate(e2e_results, coco_gt, wholebody_gt)
    print(f"{'':18s}{'gt boxes':>10s}{'end to end':>12s}")
    for key in gt:
        print(f"{key:18s}{gt[key]:10.3f}{e2e[key]:12.3f}")
    print(f"{'people found':18s}{len(gt_results):10d}{len(e2e_results):12d}")
    print(f"{'seconds':18s}{gt_time:10.1f}{e2e_time:12.1f}")
    crowd = crowd_kept(args.data, parts=True, mode=args.mode)
    crowd_body = crowd_kept(args.data, parts=False, mode=args.mode)
    print(f"MOT17-02 pedestrians given as boxes and kept: {crowd[0]}/{crowd[1]} (hands and face), "
          f"{crowd_body[0]}/{crowd_body[1]} (body only)")
    print(f"mode={args.mode} body_ap_gt={gt['body17']:.3f} body_ap_e2e={e2e['body17']:.3f} "
          f"foot_ap={e2e['wb_foot']:.3f} face_ap={e2e['wb_face']:.3f} "
          f"hand_ap={e2e['wb_hand']:.3f} wholebody_ap={e2e['wb_wholebody']:.3f} "
          f"crowd_kept={crowd[0]}/{crowd[1]} crowd_kept_body_only={crowd_body[0]}/{crowd_body[1]}")


if __name__ == "__main__":
    main()
