"""COCO-style AP: equal to pycocotools for COCO-17 and to xtcocotools per whole-body part."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings

import numpy as np
import pytest

from alphapose.evaluate import keypoint_ap, wholebody_ap
from alphapose.skeletons import get_layout

PARTS = {"body": ("keypoints_body", 0, 17), "foot": ("keypoints_foot", 17, 23),
         "face": ("keypoints_face", 23, 91), "lefthand": ("keypoints_lefthand", 91, 112),
         "righthand": ("keypoints_righthand", 112, 133),
         "wholebody": ("keypoints_wholebody", 0, 133)}
KEYS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
CUTS = (0, 17, 23, 91, 112, 133)


def perturbed_results(gt: dict, seed: int, noise: float) -> list[dict]:
    """Results made from the ground truth: every person, jittered, with random scores."""
    rng = np.random.default_rng(seed)
    results = []
    for ann in gt["annotations"]:
        kp = np.concatenate([np.asarray(ann.get(k) or [0.0] * 3 * (b - a), float).reshape(-1, 3)
                             for k, a, b in zip(KEYS, CUTS[:-1], CUTS[1:])])
        scale = np.sqrt(max(ann["area"], 1.0))
        kp[:, :2] += rng.normal(0, noise * scale, kp[:, :2].shape)
        kp[:, 2] = rng.uniform(0.05, 1.0, len(kp))
        results.append({"image_id": ann["image_id"], "category_id": 1,
                        "keypoints": kp.ravel().tolist(), "score": float(rng.uniform(0.1, 3))})
    return results


def xtcoco_ap(gt_path, results: list[dict], sigmas: np.ndarray) -> dict[str, float]:
    xt_coco = pytest.importorskip("xtcocotools.coco")
    xt_eval = pytest.importorskip("xtcocotools.cocoeval")
    split = []
    for r in results:
        entry = {"image_id": r["image_id"], "category_id": 1, "score": r["score"]}
        for key, a, b in zip(KEYS, CUTS[:-1], CUTS[1:]):
            entry[key] = r["keypoints"][3 * a:3 * b]
        split.append(entry)
    out = {}
    for part, (iou_type, a, b) in PARTS.items():
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "'foot_score' not found, use 'score' instead"
            coco = xt_coco.COCO(str(gt_path))
            evaluator = xt_eval.COCOeval(coco, coco.loadRes(copy.deepcopy(split)), iou_type,
                                         sigmas[a:b], use_area=True)
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        out[part] = float(evaluator.stats[0])
    return out


@pytest.mark.parametrize("seed,noise", [(0, 0.02), (1, 0.08), (2, 0.2)],
                         ids=["close", "noisy", "far"])
def test_wholebody_parts_equal_xtcocotools(shared_data, seed: int, noise: float) -> None:
    path = shared_data / "mmpose" / "coco" / "test_coco_wholebody.json"
    gt = json.loads(path.read_text())
    results = perturbed_results(gt, seed, noise)
    sigmas = get_layout("coco_wholebody133").sigmas
    expected = xtcoco_ap(path, results, sigmas)
    ours = wholebody_ap(gt, results, sigmas, parts=tuple(PARTS))
    for part in PARTS:
        assert ours[part] == pytest.approx(expected[part], abs=1e-6), part


@pytest.mark.parametrize("seed,noise", [(0, 0.03), (3, 0.15)], ids=["close", "noisy"])
def test_coco17_equals_pycocotools(shared_data, seed: int, noise: float) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = json.loads(path.read_text())
    rng = np.random.default_rng(seed)
    results = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, noise * np.sqrt(max(ann["area"], 1)), (17, 2))
        kp[:, 2] = 1.0
        results.append({"image_id": ann["image_id"], "category_id": 1,
                        "keypoints": kp.ravel().tolist(), "score": float(rng.uniform())})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
        evaluator = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    ours = keypoint_ap(gt, results, get_layout("coco17").sigmas)
    assert ours["AP"] == pytest.approx(evaluator.stats[0], abs=1e-6)
    assert ours["AR"] == pytest.approx(evaluator.stats[5], abs=1e-6)


def test_perfect_results_score_one(shared_data) -> None:
    gt = json.loads((shared_data / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    gt["annotations"] = [a for a in gt["annotations"] if a["num_keypoints"] > 0]
    results = perturbed_results(gt, 0, 0.0)
    ap = wholebody_ap(gt, results, get_layout("coco_wholebody133").sigmas, parts=("body",))
    assert ap["body"] == pytest.approx(1.0)


def test_no_results_is_zero_and_wrong_length_is_refused() -> None:
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 1, 2] * 17,
                           "area": 100.0, "bbox": [0, 0, 10, 10], "iscrowd": 0,
                           "num_keypoints": 17}]}
    assert keypoint_ap(gt, [], get_layout("coco17").sigmas)["AP"] == 0.0
    with pytest.raises(ValueError, match="133 keypoints"):
        wholebody_ap(gt, [{"image_id": 1, "keypoints": [0.0] * 51, "score": 1.0}],
                     get_layout("coco_wholebody133").sigmas)
