"""Hand refinement modes of the embedded default: accuracy and cost per hand.

For each refine mode (``landmarks``: a second landmark pass, ``recrop``: MediaPipe holistic's
re-crop model then one pass, ``none``: one pass) and hand model (``lite``, ``full``):

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

Last line: ``key=value`` pairs, ``pck_fh_<mode>_<model>``, ``pck_oh_...``, ``pck_coco_...``,
``pck_noisy_...`` (all sources), ``hand_ap_gt_...``, ``hand_ap_...`` (end to end), ``ms_...``.

Usage: ``.venv/bin/python bench/hands.py [--data ../shared/data] [--rounds 3] [--no-e2e]``
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

from alphapose.estimators.face_hand import HandLandmarker, hand_rect_from_body

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

MODES = ("landmarks", "recrop", "none")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end hand AP")
    args = parser.parse_args()
    if not (args.data / "mmpose" / "freihand").is_dir():
        sys.exit(f"bench/hands.py: {args.data} has no mmpose/freihand (pass --data)")
    hands = load_hands(args.data)
    counts = {s: sum(h["source"] == s for h in hands) for s in ("freihand", "onehand10k", "coco")}
    print(f"hands seeded from labelled wrist/knuckles: {counts}")
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
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
