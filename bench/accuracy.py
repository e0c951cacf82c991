"""Accuracy of the embedded default on the COCO images of ../shared/data/mmpose/coco.

Runs the ``alphapose`` command twice on the 4 annotated COCO images (14 people):
with the ground-truth boxes as detections (the estimator alone) and end to end (detector
included), then evaluates the results with pycocotools:

* COCO-17 body AP with the standard sigmas against ``test_coco.json``;
* AP per part (body, foot, face, hand, whole body) with the COCO-WholeBody sigmas against
  ``test_coco_wholebody.json``.

Last line: ``body_ap_gt=... body_ap_e2e=... foot_ap=... face_ap=... hand_ap=... wholebody_ap=...``
(foot / face / hand / whole body: end to end).

Usage: ``.venv/bin/python bench/accuracy.py [--data ../shared/data] [--keep OUT]``
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
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
                                  ["--detfile", str(coco / "test_coco.json")])
    gt = evaluate(gt_results, coco_gt, wholebody_gt)
    e2e_results, e2e_time = run_cli(coco, work / "end_to_end", [])
    e2e = evaluate(e2e_results, coco_gt, wholebody_gt)
    print(f"{'':18s}{'gt boxes':>10s}{'end to end':>12s}")
    for key in gt:
        print(f"{key:18s}{gt[key]:10.3f}{e2e[key]:12.3f}")
    print(f"{'people found':18s}{len(gt_results):10d}{len(e2e_results):12d}")
    print(f"{'seconds':18s}{gt_time:10.1f}{e2e_time:12.1f}")
    print(f"body_ap_gt={gt['body17']:.3f} body_ap_e2e={e2e['body17']:.3f} "
          f"foot_ap={e2e['wb_foot']:.3f} face_ap={e2e['wb_face']:.3f} "
          f"hand_ap={e2e['wb_hand']:.3f} wholebody_ap={e2e['wb_wholebody']:.3f}")


if __name__ == "__main__":
    main()
