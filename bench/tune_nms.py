"""Pose NMS parameter search (paper Sec. 3.4) on real duplicate poses from ../shared/data.

Validation set: the 4 annotated COCO images of ``mmpose/coco`` with the 118 person boxes of
``test_coco_det_AP_H_56.json`` (a real detector's output at a low threshold, so most people have
several overlapping boxes). The embedded default estimates a pose in every box with pose NMS
switched off (``alphapose run --detfile ... --pose-nms none``), which gives the unsuppressed
candidates; ``tune-nms`` then searches the NMS parameters against the ground truth, for COCO-17
(body variant, ``test_coco.json``) and Halpe-136 (whole-body variant, ``test_halpe.json``).

Because the validation set is tiny (12 people), a 2-fold check is printed as well: tuned on two
images, evaluated on the other two (the AP of the held-out pair with the start parameters and
with the parameters tuned without it).

Last line: ``coco17_ap_start=... coco17_ap_tuned=... halpe136_ap_start=... halpe136_ap_tuned=...``

Usage: ``.venv/bin/python bench/tune_nms.py [--data ../shared/data] [--keep OUT]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphapose.evaluate.keypoints import KeypointEvaluator, load_ground_truth
from alphapose.evaluate.nms_search import (
    apply_nms_to_candidates,
    load_candidates,
    tune_pose_nms,
)
from alphapose.nms import PoseNMSParams

ROOT = Path(__file__).resolve().parents[1]


def subset(gt, image_ids):
    data = {"images": [im for im in gt.data["images"] if im["id"] in image_ids],
            "annotations": [a for a in gt.data["annotations"] if a["image_id"] in image_ids],
            "categories": gt.data["categories"]}
    return load_ground_truth(data, gt.layout, name=f"{gt.name}[{sorted(image_ids)}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="keep the candidate files in this folder")
    args = parser.parse_args()
    coco = args.data / "mmpose" / "coco"
    if not (coco / "test_coco_det_AP_H_56.json").is_file():
        sys.exit(f"bench/tune_nms.py: {coco} not found (pass --data PATH/TO/shared/data)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="alphapose-tune-nms-"))
    figures = {}
    for layout, gt_file in (("coco17", coco / "test_coco.json"),
                            ("halpe136", args.data / "mmpose" / "halpe" / "test_halpe.json")):
        out = work / layout
        subprocess.run([sys.executable, "-m", "alphapose", "run", str(coco), "--detfile",
                        str(coco / "test_coco_det_AP_H_56.json"), "--pose-nms", "none",
                        "--layout", layout, "--format", "alphapose", "-o", str(out), "--quiet"],
                       check=True)
        res = out / "alphapose-results.json"
        gt = load_ground_truth(gt_file)
        candidates = load_candidates(res, gt)
        start = PoseNMSParams.for_layout(layout, regression=True)
        began = time.perf_counter()
        result = tune_pose_nms(candidates, KeypointEvaluator(gt, parts=("whole",)), start)
        seconds = time.perf_counter() - began
        print(f"\n{layout}: {sum(len(p) for p in candidates.values())} candidates on "
              f"{len(candidates)} images; search {seconds:.1f} s, "
              f"{result.evaluations} parameter sets")
        print(f"  command: alphapose tune-nms --gt {gt_file} --res {res}")
        for name, (a, b) in result.changed().items():
            print(f"  {name}: {a:g} -> {b:g}")
        print(f"  whole AP: no NMS {result.ap_no_nms:.4f}  start {result.ap_before:.4f}  "
              f"tuned {result.ap_after:.4f}")
        figures[layout] = (result.ap_before, result.ap_after)

        ids = sorted(candidates)
        folds = (set(ids[::2]), set(ids[1::2]))
        for train, test in (folds, folds[::-1]):
            train_gt, test_gt = subset(gt, train), subset(gt, test)
            fit = tune_pose_nms({i: candidates[i] for i in train},
                                KeypointEvaluator(train_gt, parts=("whole",)), start)
            test_eval = KeypointEvaluator(test_gt, parts=("whole",))
            test_c = {i: candidates[i] for i in test}
            before = test_eval(apply_nms_to_candidates(test_c, start))["whole"]["AP"]
            after = test_eval(apply_nms_to_candidates(test_c, fit.params))["whole"]["AP"]
            print(f"  held out {sorted(test)} (tuned on {sorted(train)}): start {before:.4f} "
                  f"-> tuned {after:.4f}")
    print(" ".join(f"{k}_ap_start={a:.4f} {k}_ap_tuned={b:.4f}" for k, (a, b) in figures.items()))


if __name__ == "__main__":
    main()
